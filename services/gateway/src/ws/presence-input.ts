// The client's `presence` message, checked field by field: a bad one is an error frame naming
// the field, never forwarded.

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const PRESENCE_LIMITS = { selection: 200 };

export interface PresenceState {
  cursor: { x: number; y: number } | null;
  selection: string[];
  viewport: { x: number; y: number; width: number; height: number; zoom?: number } | null;
  typing: string | null;
}

export class PresenceInputError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

const finite = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

function point(field: string, v: unknown, keys: string[], optional: string[] = []): Record<string, number> | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== "object" || Array.isArray(v)) throw new PresenceInputError(field, `${field} must be an object`);
  const o = v as Record<string, unknown>;
  const out: Record<string, number> = {};
  for (const k of [...keys, ...optional]) {
    if (o[k] === undefined && optional.includes(k)) continue;
    if (!finite(o[k])) throw new PresenceInputError(`${field}.${k}`, `${field}.${k} must be a finite number`);
    out[k] = o[k] as number;
  }
  return out;
}

/** Absent fields are null/empty: each message is the sender's whole state, not a patch. */
export function parsePresence(msg: Record<string, unknown>): PresenceState {
  const selection = msg.selection ?? [];
  if (!Array.isArray(selection) || selection.length > PRESENCE_LIMITS.selection || !selection.every((id) => typeof id === "string" && UUID.test(id)))
    throw new PresenceInputError("selection", `selection must be an array of at most ${PRESENCE_LIMITS.selection} node ids`);
  const typing = msg.typing ?? null;
  if (typing !== null && (typeof typing !== "string" || !UUID.test(typing))) throw new PresenceInputError("typing", "typing must be a node id or null");
  return {
    cursor: point("cursor", msg.cursor, ["x", "y"]) as PresenceState["cursor"],
    selection: selection as string[],
    viewport: point("viewport", msg.viewport, ["x", "y", "width", "height"], ["zoom"]) as PresenceState["viewport"],
    typing: typing as string | null,
  };
}

/** A stable color per user (or task), so every client draws the same person the same way. */
export function colorOf(id: string): string {
  let h = 0;
  for (const c of id) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return `hsl(${h % 360}, 70%, 45%)`;
}

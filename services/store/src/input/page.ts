import { invalid, UUID } from "@sker/kit";
import type { PageRequest } from "@sker/contracts/common/v1/common";
import { LIMITS } from "@sker/contracts/limits";

export const DEFAULT_LIMIT = LIMITS.page.default;
export const MAX_LIMIT = LIMITS.page.max;

/** Keyset position: the (created_at, id) of the last row of the previous page. */
export interface Cursor {
  at: Date;
  id: string;
}

export interface Page {
  limit: number;
  after: Cursor | undefined;
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;

/** What a list's rows are keyed by after created_at: a row id, or a node version number. */
type CursorKey = "uuid" | "version";
const KEY_SHAPE: Record<CursorKey, RegExp> = {
  uuid: UUID,
  version: /^\d{1,9}$/,
};

export function parsePage(page: PageRequest | undefined, field = "page", key: CursorKey = "uuid"): Page {
  const limit = page?.limit || DEFAULT_LIMIT;
  if (limit < 1 || limit > MAX_LIMIT) throw invalid(`${field}.limit`, `must be between 1 and ${MAX_LIMIT}`);
  return { limit, after: page?.cursor ? decodeCursor(page.cursor, `${field}.cursor`, KEY_SHAPE[key]) : undefined };
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.at.toISOString(), c.id])).toString("base64url");
}

/** A cursor from another list, or made by hand, is the caller's mistake: never a failed cast in SQL. */
function decodeCursor(raw: string, field: string, keyShape: RegExp): Cursor {
  try {
    const [at, id] = JSON.parse(Buffer.from(raw, "base64url").toString("utf8")) as [string, string];
    // Only what encodeCursor writes: an ISO instant within PostgreSQL's timestamptz range.
    if (typeof at !== "string" || !ISO_INSTANT.test(at) || typeof id !== "string" || !keyShape.test(id)) throw new Error("bad");
    const date = new Date(at);
    if (Number.isNaN(date.getTime()) || date.getUTCFullYear() < 1) throw new Error("bad");
    return { at: date, id };
  } catch {
    throw invalid(field, "is not a cursor this service issued");
  }
}

/** Fetch limit + 1 rows; this cuts the extra one off and makes the next cursor from the last kept row. */
export function pageOf<R extends { created_at: Date; id: string }>(rows: R[], limit: number): { items: R[]; nextCursor: string } {
  if (rows.length <= limit) return { items: rows, nextCursor: "" };
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: encodeCursor({ at: last.created_at, id: last.id }) };
}

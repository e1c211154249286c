import type { BusEvent } from "@sker/kit";

// One bus event goes out to every socket watching its project, as the same bytes: built and
// encoded once per event rather than once per socket. With 1,000 sockets on a canvas, a
// JSON.stringify and a UTF-8 encode per socket were most of the fan-out's CPU.

export type EventFrame = { type: "event"; projectId: string; seq: number; name: string; data: unknown; at: string | null; actor: { userId: string; taskId?: string } | null };
export type ProgressFrame = { type: "event"; projectId: string; seq: null; name: string; data: unknown; at: string | null };

const byEvent = new WeakMap<BusEvent, EventFrame | ProgressFrame>();
const encoded = new WeakMap<object, Buffer>();

/** The frame of a live bus event: the same object for every socket that sends it. */
export function liveFrame(e: BusEvent): EventFrame | ProgressFrame {
  let f = byEvent.get(e);
  if (!f) {
    f =
      e.seq === null
        ? { type: "event", projectId: e.projectId, seq: null, name: e.name, data: e.data, at: e.at }
        : { type: "event", projectId: e.projectId, seq: e.seq, name: e.name, data: e.data ?? {}, at: e.at, actor: e.actor ?? null };
    byEvent.set(e, f);
    encoded.set(f, Buffer.from(JSON.stringify(f)));
  }
  return f;
}

/** A frame's text: the bytes encoded once for a shared frame, a fresh string for a socket's own. */
export const wire = (frame: object): Buffer | string => encoded.get(frame) ?? JSON.stringify(frame);

import { Readable } from "node:stream";

/**
 * Passes a streamed JSON body through unchanged and, when it ended whole and within `limit`
 * bytes, hands its text to `onComplete` (to keep it). A body over the limit is no longer
 * collected (memory stays one page deep); one the client abandoned is never handed over.
 */
export function collected(body: Readable, limit: number, onComplete: (text: string) => void): Readable {
  async function* pass() {
    let parts: string[] | undefined = [];
    let size = 0;
    for await (const chunk of body) {
      const s = typeof chunk === "string" ? chunk : (chunk as Buffer).toString("utf8");
      if (parts) {
        size += Buffer.byteLength(s);
        if (size > limit) parts = undefined;
        else parts.push(s);
      }
      yield s;
    }
    if (parts) onComplete(parts.join(""));
  }
  return Readable.from(pass());
}

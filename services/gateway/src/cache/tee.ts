import { Readable } from "node:stream";

/**
 * Passes a streamed body through unchanged and, when it ended whole and within `limit` bytes,
 * hands its bytes to `onComplete` (to keep it). A body over the limit is no longer collected
 * (memory stays one page deep); one the client abandoned is never handed over. Chunks are
 * kept as the bytes they are (strings are encoded once), never decoded to text.
 */
export function collected(body: Readable, limit: number, onComplete: (bytes: Buffer) => void): Readable {
  async function* pass() {
    let parts: Buffer[] | undefined = [];
    let size = 0;
    for await (const chunk of body) {
      const b = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
      if (parts) {
        size += b.length;
        if (size > limit) parts = undefined;
        else parts.push(b);
      }
      yield b;
    }
    if (parts) onComplete(Buffer.concat(parts, size));
  }
  return Readable.from(pass(), { objectMode: false });
}

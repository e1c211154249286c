import { setTimeout as sleep } from "node:timers/promises";
import type { WebSocket } from "ws";
import { wire } from "./shared-frame.js";

export const CLOSE = {
  goingAway: 1001,
  /** "Try again later": the client did not read fast enough and its buffer filled. */
  tryAgainLater: 1013,
  /** Policy violation: too many messages waiting, too many sockets, too many failed authentications. */
  policy: 1008,
  unauthenticated: 4401,
} as const;

/**
 * Sends JSON frames while the socket keeps up. A client that stops reading makes
 * ws.bufferedAmount grow; past the limit it is closed instead of buffered without bound.
 */
export function sender(socket: WebSocket, maxBufferedBytes: number, onSlow: () => void, onSent: (kind: string) => void) {
  const slow = () => {
    onSlow();
    socket.close(CLOSE.tryAgainLater, "send buffer full: read faster");
    // The close frame itself waits behind the unread data; do not wait for the peer.
    setTimeout(() => socket.terminate(), 1000).unref();
  };
  const send = (frame: { type: string } & Record<string, unknown>): boolean => {
    if (socket.readyState !== socket.OPEN) return false;
    if (socket.bufferedAmount > maxBufferedBytes) {
      slow();
      return false;
    }
    // Always a text frame: shared frames come as bytes, which ws would otherwise send as binary.
    socket.send(wire(frame), { binary: false });
    onSent(frame.type);
    if (socket.bufferedAmount > maxBufferedBytes) slow();
    return true;
  };
  /**
   * Resolves once the socket has sent most of what it holds, so a replay can take its next
   * page: a replay larger than the buffer (a 50 MB project) then flows at the client's pace
   * instead of closing the socket as a slow consumer.
   */
  const drained = async (): Promise<void> => {
    while (socket.readyState === socket.OPEN && socket.bufferedAmount > maxBufferedBytes / 4) await sleep(10);
  };
  return Object.assign(send, { drained });
}

export type Send = ReturnType<typeof sender>;

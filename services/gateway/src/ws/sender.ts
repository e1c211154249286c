import type { WebSocket } from "ws";

export const CLOSE = {
  goingAway: 1001,
  /** "Try again later": the client did not read fast enough and its buffer filled. */
  tryAgainLater: 1013,
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
  return (frame: { type: string } & Record<string, unknown>): boolean => {
    if (socket.readyState !== socket.OPEN) return false;
    if (socket.bufferedAmount > maxBufferedBytes) {
      slow();
      return false;
    }
    socket.send(JSON.stringify(frame));
    onSent(frame.type);
    if (socket.bufferedAmount > maxBufferedBytes) slow();
    return true;
  };
}

export type Send = ReturnType<typeof sender>;

// The per-socket send buffer over a real loopback WebSocket: a peer that stops reading is closed
// (1013) once the unsent bytes pass the limit, instead of the server buffering without bound.
import { once } from "node:events";
import { describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { sender } from "../src/ws/sender.js";

describe("send buffer", () => {
  it("closes a socket that does not read, and stops accepting frames for it", async () => {
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    await once(wss, "listening");
    const port = (wss.address() as { port: number }).port;
    const serverSide = once(wss, "connection");
    const client = new WebSocket(`ws://127.0.0.1:${port}`);
    await once(client, "open");
    const [socket] = (await serverSide) as [WebSocket];
    // The client stops reading at the TCP level.
    (client as any)._socket.pause();

    let slow = 0;
    const limit = 1024 * 1024;
    const send = sender(socket, limit, () => slow++, () => {});
    const frame = { type: "event", data: "x".repeat(256 * 1024) };
    let sent = 0;
    // Loopback kernel buffers absorb tens of MiB here; past them the user-space buffer grows.
    while (send(frame) && sent < 4000) {
      sent++;
      if (sent % 16 === 0) await new Promise((r) => setImmediate(r));
    }
    expect(slow).toBe(1);
    expect(sent).toBeLessThan(4000);
    // Never more than the limit plus one frame waits in user space.
    expect(socket.bufferedAmount).toBeLessThan(limit + 2 * 256 * 1024);
    expect(send(frame)).toBe(false);
    const closed = once(client, "close");
    (client as any)._socket.resume();
    const [code] = (await closed) as [number];
    expect([1013, 1006]).toContain(code);
    wss.close();
  });
});

/**
 * A TCP proxy the test controls, to take a dependency "down" without touching the machine's
 * RabbitMQ or Redis: `const px = await tcpProxy(5672)`; point the service at `px.port`;
 * `await px.down()` refuses new connections and cuts the open ones; `await px.up()` restores.
 * `tcpProxy(5672, { startDown: true })` reserves a port that refuses connections from the start.
 */
import { createServer, connect, type Server, type Socket } from "node:net";

export interface TcpProxy {
  port: number;
  up(): Promise<void>;
  down(): Promise<void>;
  close(): Promise<void>;
}

export async function tcpProxy(targetPort: number, opts: { startDown?: boolean; targetHost?: string } = {}): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const s = createServer((client) => {
        const upstream = connect(targetPort, opts.targetHost ?? "127.0.0.1");
        sockets.add(client);
        sockets.add(upstream);
        const drop = () => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        client.on("error", drop).on("close", drop);
        upstream.on("error", drop).on("close", drop);
        client.pipe(upstream);
        upstream.pipe(client);
      });
      s.once("error", reject);
      s.listen(port, "127.0.0.1", () => {
        server = s;
        resolve((s.address() as { port: number }).port);
      });
    });
  const stop = async () => {
    const s = server;
    server = undefined;
    for (const sock of sockets) sock.destroy();
    sockets.clear();
    if (s) await new Promise<void>((r) => s.close(() => r()));
  };
  const port = await listen(0);
  if (opts.startDown) await stop();
  return {
    port,
    up: async () => {
      if (!server) await listen(port);
    },
    down: stop,
    close: stop,
  };
}

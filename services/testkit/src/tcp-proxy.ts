/**
 * A TCP proxy the test controls, to take a dependency "down" without touching the machine's
 * shared RabbitMQ, Redis or SMTP server. Point the service at `px.port`, then:
 *
 *   const px = await tcpProxy(5672);          // or tcpProxy({ host, port })
 *   px.cut(); px.restore();                   // the port stays open, but open connections drop and
 *                                             // new ones are dropped at once (a RabbitMQ restart,
 *                                             // as a client sees it)
 *   await px.down(); await px.up();           // the port refuses connections (ECONNREFUSED)
 *   await tcpProxy(5672, { startDown: true }) // a port that refuses connections from the start
 *   px.retarget(port)                         // new connections go to another port (a process
 *                                             // restarted on a new free port keeps its address)
 */
import { createServer, connect, type Server, type Socket } from "node:net";

export interface TcpProxy {
  port: number;
  /** Open client connections. */
  connections(): number;
  cut(): void;
  restore(): void;
  retarget(port: number): void;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function tcpProxy(target: number | { host?: string; port: number }, opts: { startDown?: boolean } = {}): Promise<TcpProxy> {
  const { host = "127.0.0.1", port: firstPort } = typeof target === "number" ? { port: target } : target;
  let targetPort = firstPort;
  const pairs = new Set<[Socket, Socket]>();
  let open = true;
  let server: Server | undefined;

  const dropAll = () => {
    for (const [a, b] of pairs) {
      a.destroy();
      b.destroy();
    }
    pairs.clear();
  };
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const s = createServer((client) => {
        if (!open) return client.destroy();
        const upstream = connect(targetPort, host);
        const pair: [Socket, Socket] = [client, upstream];
        pairs.add(pair);
        const drop = () => {
          client.destroy();
          upstream.destroy();
          pairs.delete(pair);
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
  const down = async () => {
    const s = server;
    server = undefined;
    dropAll();
    if (s) await new Promise<void>((r) => s.close(() => r()));
  };

  const port = await listen(0);
  if (opts.startDown) await down();
  return {
    port,
    connections: () => pairs.size,
    cut() {
      open = false;
      dropAll();
    },
    restore() {
      open = true;
    },
    retarget(port: number) {
      targetPort = port;
    },
    down,
    async up() {
      if (!server) await listen(port);
    },
    close: down,
  };
}

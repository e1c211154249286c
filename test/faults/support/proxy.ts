import { connect, createServer, type Server, type Socket } from "node:net";

/**
 * A TCP proxy on a port of its own that a drill can cut (every connection dropped, new ones
 * refused: what a restart of the server behind looks like) and restore, and point at another
 * port (a process restarted on a new free port keeps the address its callers know).
 */
export interface Proxy {
  port: number;
  cut(): void;
  restore(): void;
  retarget(port: number): void;
  close(): Promise<void>;
}

export async function proxy(targetPort: number, host = "127.0.0.1"): Promise<Proxy> {
  const pairs = new Set<[Socket, Socket]>();
  let open = true;
  let target = targetPort;
  const server: Server = createServer((client) => {
    if (!open) return client.destroy();
    const upstream = connect(target, host);
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
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const cutAll = () => {
    for (const [a, b] of pairs) {
      a.destroy();
      b.destroy();
    }
    pairs.clear();
  };
  return {
    port: (server.address() as { port: number }).port,
    cut() {
      open = false;
      cutAll();
    },
    restore() {
      open = true;
    },
    retarget(port: number) {
      target = port;
    },
    async close() {
      open = false;
      cutAll();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

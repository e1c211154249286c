import { createServer, type Server } from "node:http";
import { collectDefaultMetrics, Counter, Histogram, Registry } from "prom-client";

/** One registry per service; a process running all three (all-in-one) gets one per service. */
export function createMetrics(service: string) {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  const rpcDuration = new Histogram({
    name: "grpc_server_handling_seconds",
    help: "gRPC server handling time by method and code",
    labelNames: ["method", "code"],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const clientDuration = new Histogram({
    name: "grpc_client_handling_seconds",
    help: "gRPC client call time by method and code",
    labelNames: ["method", "code"],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const clientRetries = new Counter({
    name: "grpc_client_retries_total",
    help: "gRPC client retries of idempotent calls",
    labelNames: ["method"],
    registers: [registry],
  });
  return { registry, rpcDuration, clientDuration, clientRetries };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Serves GET /metrics on its own port (store 9464, broker 9465). port 0 picks a free one. */
export async function serveMetrics(metrics: Metrics, port: number, host = "0.0.0.0"): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url !== "/metrics") {
      res.writeHead(404).end();
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { "content-type": metrics.registry.contentType }).end(text),
      (err: Error) => res.writeHead(500).end(err.message),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}

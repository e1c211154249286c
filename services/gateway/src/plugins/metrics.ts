import fp from "fastify-plugin";
import { Gauge, Histogram, Counter } from "prom-client";
import type { GatewayDeps } from "../types.js";

declare module "fastify" {
  interface FastifyInstance {
    wsMetrics: { openSockets: Gauge; watchedProjects: Gauge; eventsSent: Counter; slowClosed: Counter };
  }
}

/**
 * RED metrics per route (the route pattern, never the raw URL: ids would explode the label
 * set), the WebSocket gauges, and the kit's gRPC client metrics, all on GET /metrics.
 */
export const metricsPlugin = fp<{ deps: GatewayDeps }>(
  async (app, { deps }) => {
    const registers = [deps.metrics.registry];
    const duration = new Histogram({
      name: "http_request_duration_seconds",
      help: "HTTP request duration by route, method and status",
      labelNames: ["route", "method", "status"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    app.decorate("wsMetrics", {
      openSockets: new Gauge({ name: "ws_open_sockets", help: "Open WebSocket connections", registers }),
      watchedProjects: new Gauge({ name: "ws_watched_projects", help: "Projects this replica is bound to on the event bus", registers }),
      eventsSent: new Counter({ name: "ws_events_sent_total", help: "Event frames sent to sockets", labelNames: ["kind"], registers }),
      slowClosed: new Counter({ name: "ws_slow_consumers_closed_total", help: "Sockets closed because they did not read", registers }),
    });

    app.addHook("onResponse", async (req, reply) => {
      const route = req.routeOptions.url ?? "unmatched";
      duration.observe({ route, method: req.method, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    });

    app.get("/metrics", { schema: { hide: true }, logLevel: "warn" }, async (_req, reply) => {
      reply.type(deps.metrics.registry.contentType);
      return deps.metrics.registry.metrics();
    });
  },
  { name: "sker-metrics" },
);

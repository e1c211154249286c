import type { FastifyPluginAsync } from "fastify";
import type { GatewayDeps } from "../types.js";

/** Store and broker health, asked at most once a second however often the probe comes. */
export function dependencyHealth(deps: GatewayDeps) {
  let cached: { at: number; value: Promise<{ store: boolean; broker: boolean }> } | undefined;
  return () => {
    const now = Date.now();
    if (!cached || now - cached.at > 1000) {
      const value = Promise.all([deps.clients.health.store(), deps.clients.health.broker()]).then(([store, broker]) => ({ store, broker }));
      cached = { at: now, value };
    }
    return cached.value;
  };
}

const status = { type: "object", properties: { status: { type: "string" }, store: { type: "boolean" }, broker: { type: "boolean" } } };

export const healthRoutes: FastifyPluginAsync = async (app) => {
  const deps = app.deps;
  const health = dependencyHealth(deps);
  const schema = { tags: ["health"], response: { 200: status, 503: status } };

  app.get("/health", { schema, logLevel: "warn" }, async () => ({ status: "ok" }));

  app.get("/ready", { schema, logLevel: "warn" }, async (_req, reply) => {
    if (deps.state.draining) return reply.code(503).send({ status: "draining" });
    const h = await health();
    const ready = h.store && h.broker;
    return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : "unavailable", ...h });
  });
};

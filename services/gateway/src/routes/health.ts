import type { FastifyPluginAsync } from "fastify";
import type { GatewayDeps } from "../types.js";

type Health = { store: boolean; broker: boolean };

/**
 * Store and broker health, asked at most once a second however often the probe comes while
 * both answer; while one does not, every probe asks again (one question at a time), so the
 * gateway is ready again as soon as they are.
 */
export function dependencyHealth(deps: GatewayDeps) {
  let cached: { at: number; value: Promise<Health>; ok: boolean; settled: boolean } | undefined;
  return () => {
    const now = Date.now();
    const fresh = cached && (cached.settled ? cached.ok && now - cached.at <= 1000 : true);
    if (!fresh) {
      const entry = { at: now, ok: false, settled: false, value: undefined as unknown as Promise<Health> };
      entry.value = Promise.all([deps.clients.health.store(), deps.clients.health.broker()]).then(([store, broker]) => {
        entry.ok = store && broker;
        entry.settled = true;
        return { store, broker };
      });
      cached = entry;
    }
    return cached!.value;
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

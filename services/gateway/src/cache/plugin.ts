import fp from "fastify-plugin";
import type { GatewayDeps } from "../types.js";
import type { ProjectHub } from "../ws/hub.js";
import { cacheMetrics } from "./metrics.js";
import { ReadCache } from "./read-cache.js";
import { writeScopes } from "./write-rules.js";

declare module "fastify" {
  interface FastifyInstance {
    readCache: ReadCache;
  }
}

/**
 * The read cache on the app: started after the hub (onReady), and every write this gateway
 * answers invalidates what it touched before its response leaves (onSend, any status: a write
 * that timed out may still have committed).
 */
export const readCachePlugin = fp<{ deps: GatewayDeps; hub: ProjectHub }>(
  async (app, { deps, hub }) => {
    const cache = new ReadCache(
      { ...deps.config.readCache, maxFillMs: deps.config.grpcDeadlineMs + 1_000 },
      { hub, clients: deps.clients, log: deps.log, metrics: cacheMetrics(deps.metrics.registry) },
    );
    app.decorate("readCache", cache);
    app.addHook("onReady", async () => cache.start());
    app.addHook("onClose", async () => cache.close());
    if (!deps.config.readCache.enabled) return;
    app.addHook("onSend", async (req) => {
      for (const s of writeScopes(req)) cache.invalidate(s);
    });
  },
  { name: "sker-read-cache" },
);

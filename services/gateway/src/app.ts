import Fastify, { LogController, type FastifyInstance } from "fastify";
import { authPlugin } from "./plugins/auth.js";
import { readCachePlugin } from "./cache/plugin.js";
import { clientGonePlugin } from "./plugins/client-gone.js";
import { inputGuardPlugin } from "./plugins/input-guard.js";
import { errorsPlugin } from "./plugins/errors.js";
import { metricsPlugin } from "./plugins/metrics.js";
import { openapiPlugin } from "./plugins/openapi.js";
import { rateLimitPlugin } from "./plugins/rate-limit.js";
import { requestIdFrom, requestIdPlugin } from "./plugins/request-id.js";
import { securityPlugin } from "./plugins/security.js";
import { tracingPlugin } from "./plugins/tracing.js";
import { aiTaskRoutes } from "./routes/ai-tasks.js";
import { collabRoutes } from "./routes/collab.js";
import { apiKeyRoutes } from "./routes/api-keys.js";
import { authRoutes } from "./routes/auth.js";
import { connectionRoutes } from "./routes/connections.js";
import { healthRoutes } from "./routes/health.js";
import { invitationRoutes } from "./routes/invitations.js";
import { nodeRoutes } from "./routes/nodes.js";
import { projectRoutes } from "./routes/projects.js";
import { runRoutes } from "./routes/runs.js";
import { modelRoutes } from "./routes/models.js";
import { usageRoutes } from "./routes/usage.js";
import { systemRoutes } from "./routes/system.js";
import { userRoutes } from "./routes/users.js";
import type { GatewayConfig } from "./config.js";
import type { GatewayDeps } from "./types.js";
import { ProjectHub } from "./ws/hub.js";
import { wsPlugin } from "./ws/plugin.js";

/**
 * The gateway as a Fastify instance, not listening yet. Plugins own one concern each; the
 * authenticated API lives in one encapsulated context whose onRequest hooks authenticate and
 * then count the caller's rate budget, so no route can forget either.
 */
export async function buildApp(deps: GatewayDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log,
    // No per-request log lines: request metrics and traces cover them, and logs stay for events.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.config.bodyLimitBytes,
    genReqId: requestIdFrom,
    trustProxy: trustProxyOption(deps.config.trustProxy),
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
  });
  app.decorate("deps", deps);

  const hub = new ProjectHub(deps.bus, deps.log, (n) => app.wsMetrics?.watchedProjects.set(n), deps.config.ws.seqCheckMs);
  app.addHook("onReady", async () => hub.start());
  app.addHook("onClose", async () => hub.close());

  // While draining, answered connections close instead of idling out the keep-alive timeout.
  app.addHook("onSend", async (_req, reply) => {
    if (deps.state.draining) reply.header("connection", "close");
  });
  await app.register(requestIdPlugin);
  await app.register(clientGonePlugin);
  await app.register(tracingPlugin);
  await app.register(errorsPlugin);
  await app.register(inputGuardPlugin);
  await app.register(metricsPlugin, { deps });
  await app.register(securityPlugin, { deps });
  await app.register(openapiPlugin, { deps });
  await app.register(rateLimitPlugin, { deps });
  await app.register(authPlugin, { deps });
  await app.register(readCachePlugin, { deps, hub });

  await app.register(healthRoutes);
  await app.register(authRoutes, { prefix: "/api/v1/auth" });

  await app.register(
    async (api) => {
      api.addHook("onRequest", api.authenticate);
      api.addHook("onRequest", api.limits.user);
      await api.register(userRoutes);
      await api.register(apiKeyRoutes);
      await api.register(projectRoutes);
      await api.register(invitationRoutes);
      await api.register(nodeRoutes);
      await api.register(connectionRoutes);
      await api.register(aiTaskRoutes);
      await api.register(collabRoutes);
      await api.register(runRoutes);
      await api.register(modelRoutes);
      await api.register(usageRoutes);
      await api.register(systemRoutes, { prefix: "/system" });
    },
    { prefix: "/api/v1" },
  );
  // docs/api.md names the admin routes /api/system/*; /api/v1/system/* is the same thing.
  await app.register(
    async (api) => {
      api.addHook("onRequest", api.authenticate);
      api.addHook("onRequest", api.limits.user);
      await api.register(systemRoutes);
    },
    { prefix: "/api/system" },
  );

  await app.register(wsPlugin, { deps, hub });
  return app as unknown as FastifyInstance;
}

/**
 * Fastify 5.12 answers a bare hop count with "trust nothing" (a hop count cannot tell the proxy
 * from a client that reached the gateway directly), so hops become proxy-addr's own hop rule:
 * the first `hops` addresses from the socket inward are proxies, the next one is the client.
 */
function trustProxyOption(trust: GatewayConfig["trustProxy"]): boolean | string[] | ((addr: string, hop: number) => boolean) {
  if (typeof trust !== "number") return trust;
  return (_addr, hop) => hop < trust;
}

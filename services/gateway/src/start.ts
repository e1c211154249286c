import { Redis } from "ioredis";
import { createEventBus, createLogger, createMetrics, Tokens } from "@sker/kit";
import { buildApp } from "./app.js";
import { createClients } from "./clients.js";
import type { GatewayConfig } from "./config.js";
import type { GatewayDeps } from "./types.js";

export { loadGatewayConfig, type GatewayConfig } from "./config.js";
export { buildApp } from "./app.js";

/**
 * Redis on the request path fails fast: no offline queue (a command while disconnected is
 * refused at once instead of waiting for a reconnect) and a short command timeout (a Redis
 * that hangs costs at most REDIS_COMMAND_TIMEOUT_MS); it reconnects in the background.
 */
function redisClient(url: string, commandTimeoutMs: number): Redis {
  return new Redis(url, {
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 1_000,
    commandTimeout: commandTimeoutMs,
    retryStrategy: (times) => Math.min(100 * times, 2_000),
  });
}

/**
 * Waits (bounded) for the first connection, so the first requests already share the replicas'
 * limits instead of each being counted in this process's memory; a Redis that is not there
 * delays the start by at most `ms`, then the fallback limiter serves.
 */
async function redisReady(redis: Redis, ms: number): Promise<void> {
  if (redis.status === "ready") return;
  await new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      redis.off("ready", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    redis.once("ready", done);
  });
}

/**
 * Everything wired and listening. shutdown(): /ready turns 503 at once while the gateway keeps
 * serving for SHUTDOWN_DRAIN_DELAY_MS (load balancers see it leave before it stops accepting),
 * then the server stops accepting, in-flight requests finish, sockets close with 1001, then the
 * clients and connections close.
 */
export async function startGateway(config: GatewayConfig): Promise<{ port: number; shutdown(): Promise<void> }> {
  const log = createLogger("gateway", config.logLevel);
  const metrics = createMetrics("gateway");
  const clients = createClients({ storeAddr: config.storeAddr, brokerAddr: config.brokerAddr, deadlineMs: config.grpcDeadlineMs, metrics, maxMessageBytes: config.grpcMaxMessageBytes });
  const redis = config.redisUrl ? redisClient(config.redisUrl, config.redisCommandTimeoutMs) : undefined;
  // Outages are logged once by the rate limiter (fallback-store.ts); the client repeats them.
  redis?.on("error", () => {});
  if (redis) await redisReady(redis, 2_000);
  const bus = await createEventBus({ url: config.rabbitmqUrl, exchange: config.eventsExchange, log });
  const deps: GatewayDeps = { config, clients, tokens: new Tokens(config), metrics, log, redis, bus, state: { draining: false, startedAt: Date.now() } };

  const app = await buildApp(deps);
  await app.listen({ host: config.host, port: config.port });
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  log.info({ port }, "gateway listening");

  let closing: Promise<void> | undefined;
  const shutdown = () =>
    (closing ??= (async () => {
      deps.state.draining = true;
      await new Promise((r) => setTimeout(r, config.drainDelayMs));
      await app.close();
      await bus.close().catch(() => {});
      redis?.disconnect();
      clients.close();
    })());
  return { port, shutdown };
}

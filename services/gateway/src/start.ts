import { Redis } from "ioredis";
import { createEventBus, createLogger, createMetrics, Tokens } from "@sker/kit";
import { buildApp } from "./app.js";
import { createClients } from "./clients.js";
import type { GatewayConfig } from "./config.js";
import type { GatewayDeps } from "./types.js";

export { loadGatewayConfig, type GatewayConfig } from "./config.js";
export { buildApp } from "./app.js";

/**
 * Everything wired and listening. shutdown(): /ready turns 503 at once, the server stops
 * accepting, in-flight requests finish, sockets close with 1001, then the clients and
 * connections close.
 */
export async function startGateway(config: GatewayConfig): Promise<{ port: number; shutdown(): Promise<void> }> {
  const log = createLogger("gateway", config.logLevel);
  const metrics = createMetrics("gateway");
  const clients = createClients({ storeAddr: config.storeAddr, brokerAddr: config.brokerAddr, deadlineMs: config.grpcDeadlineMs, metrics, maxMessageBytes: config.grpcMaxMessageBytes });
  const redis = config.redisUrl ? new Redis(config.redisUrl, { lazyConnect: false, maxRetriesPerRequest: 1, enableOfflineQueue: true }) : undefined;
  redis?.on("error", (err) => log.warn({ err: err.message }, "redis error"));
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
      await app.close();
      await bus.close().catch(() => {});
      redis?.disconnect();
      clients.close();
    })());
  return { port, shutdown };
}

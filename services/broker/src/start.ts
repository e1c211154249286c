import { createEventBus, createLogger, serveMetrics, startGrpcServer, bind, Tokens, type EventBus, type HandlerKit } from "@sker/kit";
import { BrokerServiceService } from "@sker/contracts/broker/v1/broker";
import type { BrokerConfig } from "./config.js";
import { brokerMetrics } from "./metrics.js";
import { Catalog } from "./models/catalog.js";
import { liveProviders } from "./models/providers.js";
import type { Provider } from "./providers/index.js";
import { createTaskQueue, type TaskQueue } from "./queue/index.js";
import { startReaper } from "./reaper.js";
import { startDispatchRelay } from "./relay.js";
import { BrokerAccess } from "./access.js";
import { admissionGate } from "./admission.js";
import { brokerService } from "./service.js";
import { storeTasks } from "./store-client.js";
import { startWorker } from "./worker/worker.js";

export { loadBrokerConfig, type BrokerConfig } from "./config.js";
// For tests that clear a prefix's topology (@sker/testkit/rabbit).
export { queueNames } from "./queue/names.js";

export interface RunningBroker {
  port: number;
  metricsPort: number;
  workerId: string;
  shutdown(): Promise<void>;
}

/** Seams for tests and embedding: everything else comes from the config. */
export interface BrokerOverrides {
  /** Replaces the client of every provider of the models file. */
  provider?: Provider;
  bus?: EventBus;
}

/** Everything wired: queue topology declared, workers consuming, reaper sweeping, gRPC and metrics listening. */
export async function startBroker(config: BrokerConfig, overrides: BrokerOverrides = {}): Promise<RunningBroker> {
  const log = createLogger("broker", config.logLevel).child({ workerId: config.workerId });
  const tokens = new Tokens(config);
  let queue: TaskQueue | undefined;
  const metrics = brokerMetrics(() => queue);
  queue = createTaskQueue(config, log);
  const bus = overrides.bus ?? createEventBus({ url: config.rabbitmqUrl, exchange: config.eventsExchange, log });
  const store = storeTasks(config.storeAddr, config.deadlineMs, tokens, metrics, config.grpcMaxMessageBytes);
  const catalog = new Catalog(config.models);
  const providers = liveProviders(config.models, config.localTokenDelayMs, metrics, overrides.provider);
  // Zero from the start, so a failure rate reads 0 rather than no data before the first failure.
  for (const name of providers.keys()) metrics.providerFailures.inc({ provider: name }, 0);

  const relay = startDispatchRelay({ store, queue, pollMs: config.dispatchPollMs, log });
  const worker = config.workers ? await startWorker({ config, store, queue, relay, bus, catalog, providers, metrics, log }) : undefined;
  const reaper = config.workers ? startReaper({ store, queue, relay, intervalMs: config.reaperIntervalMs, queuedAfterMs: config.reclaimQueuedAfterMs, log, deadLetterDays: config.deadLetterDays }) : undefined;

  const access = new BrokerAccess(store.pool, config.deadlineMs, metrics);
  // No authorize hook: the store checks a user's account on every call the broker makes for them (access.ts).
  const kit: HandlerKit = { tokens, log, metrics, inflight: new Set() };
  const grpc = await startGrpcServer({
    host: config.host,
    port: config.port,
    maxMessageBytes: config.grpcMaxMessageBytes,
    services: [bind("sker.broker.v1.BrokerService", BrokerServiceService, brokerService({ store, queue, relay, catalog, access, log, admission: admissionGate(config.submitConcurrency) }), kit)],
    kit,
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    drainDelayMs: config.drainDelayMs,
  });
  const metricsServer = await serveMetrics(metrics, config.metricsPort);
  const address = metricsServer.address();
  const metricsPort = typeof address === "object" && address ? address.port : config.metricsPort;
  log.info({ port: grpc.port, metricsPort, models: config.models.source, defaultModel: catalog.defaultModel, queue: config.rabbitmqUrl ? "rabbitmq" : "in-process", concurrency: config.concurrency }, "broker ready");

  let closing: Promise<void> | undefined;
  return {
    port: grpc.port,
    metricsPort,
    workerId: config.workerId,
    shutdown: () =>
      (closing ??= (async () => {
        // Stop taking work (calls and deliveries) at once, and let running calls and attempts
        // finish side by side within the one SHUTDOWN_TIMEOUT_MS; then close the connections.
        await Promise.all([grpc.shutdown(), reaper?.stop(), worker?.stop(config.shutdownTimeoutMs)]);
        // What is left in the outbox is published by another broker (or this one's successor).
        await relay.stop();
        await queue.close();
        if (!overrides.bus) await bus.close();
        store.close();
        await new Promise<void>((resolve) => metricsServer.close(() => resolve()));
      })()),
  };
}

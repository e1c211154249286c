import type { Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Kysely } from "kysely";
import {
  ACCOUNTS_CHANNEL,
  createEventBus,
  createLogger,
  createMetrics,
  outsideCall,
  serveMetrics,
  startGrpcServer,
  Tokens,
  type EventBus,
  type HandlerKit,
  type Logger,
} from "@sker/kit";
import type { StoreConfig } from "./config.js";
import { openDatabase } from "./db/connect.js";
import { migrateToLatest } from "./db/migrate.js";
import type { Database } from "./db/schema.js";
import type { Cache, StoreDeps } from "./deps.js";
import { createCache } from "./cache/index.js";
import { cacheMetrics } from "./cache/metrics.js";
import { OutboxRelay } from "./outbox/relay.js";
import { RetentionJob } from "./retention/job.js";
import { outboxMetrics } from "./outbox/metrics.js";
import { backlogMetrics } from "./backlog-metrics.js";
import { checkAccess } from "./users/access.js";
import { DenyList } from "./users/deny-list.js";
import { MailRelay } from "./mail/relay.js";
import { createTransport, type MailTransport } from "./mail/transport.js";
import { storeBindings } from "./services.js";
import { createAiSubmissionLimit } from "./limits/ai-submissions.js";

export { loadStoreConfig, type StoreConfig } from "./config.js";
export { kyselyOverPGlite, openDatabase, PGLITE_EXTENSIONS } from "./db/connect.js";
export { migrateToLatest } from "./db/migrate.js";
// For the test databases (@sker/testkit/db): the schema's identity and its type.
export { migrations } from "./db/migrations/index.js";
export type { Database } from "./db/schema.js";

export interface RunningStore {
  port: number;
  metricsPort: number;
  deps: StoreDeps;
  relay: OutboxRelay;
  /** The retention pruner (runOnce() for tests). */
  retention: RetentionJob;
  bus: EventBus;
  /** Not ready, drain in-flight calls, stop the relay, close bus, cache and database. */
  shutdown(): Promise<void>;
}

export interface StoreOverrides {
  /** A database the caller owns (tests): migrated here, not destroyed on shutdown. */
  db?: Kysely<Database>;
  bus?: EventBus;
  log?: Logger;
  /** A cache instead of the configured one (benchmarks measure the store without one). */
  cache?: Cache;
  /** Where mail goes instead of SMTP_URL (tests read what was sent). */
  mail?: MailTransport;
}

/** Everything wired and listening. Port 0 picks a free port (tests). */
export async function startStore(config: StoreConfig, overrides: StoreOverrides = {}): Promise<RunningStore> {
  const log = overrides.log ?? createLogger("store", config.common.logLevel);
  const metrics = createMetrics("store");
  const db = overrides.db ?? (await openDatabase({
      databaseUrl: config.databaseUrl,
      dataDir: config.common.dataDir,
      poolSize: config.dbPoolSize,
      onIdleError: (err) => log.warn({ err: err.message }, "a database connection was dropped"),
    }));
  const cleanups: { name: string; run: () => Promise<unknown> }[] = [];
  try {
    await migrateToLatest(db);
    const cache = overrides.cache ?? createCache({ redisUrl: config.redisUrl, keyPrefix: config.redisKeyPrefix, log, metrics: cacheMetrics(metrics) });
    const bus = overrides.bus ?? createEventBus({ url: config.rabbitmqUrl, exchange: config.eventsExchange, log });
    const relay = new OutboxRelay({ db, bus, log, pollMs: config.outboxPollMs, metrics: outboxMetrics(metrics) });
    backlogMetrics(metrics, db, log);
    const tokens = new Tokens(config.common);
    const denyList = new DenyList(config.redisUrl, config.redisKeyPrefix, log);
    const aiLimit = createAiSubmissionLimit({ ...config.aiRateLimit, redisUrl: config.redisUrl, keyPrefix: config.redisKeyPrefix, log });
    const mail = new MailRelay(db, overrides.mail ?? createTransport({ smtpUrl: config.smtpUrl, from: config.mailFrom, production: config.common.production }, log), log, config.mailPollMs);
    const deps: StoreDeps = {
      db,
      cache,
      tokens,
      log,
      // The relays' passes are theirs, not the poking call's: a caller that gives up must not stop them.
      afterCommit: () => outsideCall(() => relay.poke()),
      denyList,
      notifyRevoked: (event) =>
        bus
          .publish({ projectId: ACCOUNTS_CHANNEL, seq: null, name: "account.revoked", data: event, at: new Date().toISOString() })
          .catch((err: unknown) => log.warn({ err, userId: event.userId }, "could not announce revoked tokens; open sockets close when their token expires")),
      afterMail: () => outsideCall(() => mail.poke()),
      aiLimit,
      config: {
        dbPoolSize: config.dbPoolSize,
        accessTokenTtlSeconds: config.accessTokenTtlSeconds,
        refreshTokenTtlSeconds: config.refreshTokenTtlSeconds,
        apiKeyTokenTtlSeconds: config.apiKeyTokenTtlSeconds,
        scryptCost: config.scryptCost,
        quotas: config.quotas,
        adminEmails: config.common.adminEmails,
        firstUserIsAdmin: !config.databaseUrl,
        publicUrl: config.publicUrl,
        invitationTtlSeconds: config.invitationTtlSeconds,
        userMonthlyBudgetUsd: config.userMonthlyBudgetUsd,
      },
    };
    const kit: HandlerKit = { tokens, log, metrics, inflight: new Set(), authorize: checkAccess(deps) };
    const grpc = await startGrpcServer({
      host: config.host,
      port: config.port,
      services: storeBindings(deps, kit),
      kit,
      shutdownTimeoutMs: config.common.shutdownTimeoutMs,
      drainDelayMs: config.common.drainDelayMs,
      maxMessageBytes: config.common.grpcMaxMessageBytes,
    });
    cleanups.push({ name: "grpc", run: () => grpc.shutdown() });
    relay.start();
    cleanups.push({ name: "relay", run: () => relay.stop() });
    mail.start();
    cleanups.push({ name: "mail", run: () => mail.stop() });
    const retention = new RetentionJob(db, config.retention, config.retention.intervalMs, log);
    retention.start();
    cleanups.push({ name: "retention", run: () => retention.stop() });
    if (!overrides.bus) cleanups.push({ name: "bus", run: () => bus.close() });
    cleanups.push({ name: "cache", run: () => cache.close() });
    cleanups.push({ name: "deny-list", run: () => denyList.close() });
    cleanups.push({ name: "ai-limit", run: () => aiLimit.close() });
    const metricsServer: HttpServer = await serveMetrics(metrics, config.metricsPort);
    cleanups.push({ name: "metrics", run: () => new Promise((r) => metricsServer.close(() => r(undefined))) });
    if (!overrides.db) cleanups.push({ name: "db", run: () => db.destroy() });
    log.info({ port: grpc.port, driver: config.databaseUrl ? "pg" : "pglite" }, "store listening");

    let closing: Promise<void> | undefined;
    return {
      port: grpc.port,
      metricsPort: (metricsServer.address() as AddressInfo).port,
      deps,
      relay,
      retention,
      bus,
      shutdown: () => (closing ??= runCleanups(cleanups, log)),
    };
  } catch (err) {
    if (!overrides.db) cleanups.push({ name: "db", run: () => db.destroy() });
    await runCleanups(cleanups, log);
    throw err;
  }
}

async function runCleanups(steps: { name: string; run: () => Promise<unknown> }[], log: Logger) {
  for (const step of steps) {
    try {
      await step.run();
    } catch (err) {
      log.warn({ err, step: step.name }, "store shutdown step failed");
    }
  }
}

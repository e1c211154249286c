// Real processes for the gateway's tests: a store (own PostgreSQL database), a broker and one or
// more gateways, all in this process on free ports, wired to the real Redis and RabbitMQ with
// names of their own (key prefix, exchange, queue prefix) so parallel test files never meet.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { Redis } from "ioredis";
import amqp from "amqplib";
import { loadStoreConfig, startStore } from "@sker/store";
import { loadBrokerConfig, startBroker } from "@sker/broker";
import { loadGatewayConfig, startGateway } from "@sker/gateway";
import { startMailbox, type Mailbox } from "./mailbox.js";
import { PG_ADMIN_URL, RABBITMQ_URL, REDIS_URL } from "./urls.js";

export interface StackOptions {
  gateways?: number;
  /** Extra gateway env (rate limits, timeouts). */
  gatewayEnv?: Record<string, string>;
  withBroker?: boolean;
  /** Extra env for every service (wins over the defaults here). */
  env?: Record<string, string>;
  /** Extra store env (quotas). */
  storeEnv?: Record<string, string>;
}

export interface Stack {
  env: Record<string, string>;
  /** The SMTP server the store sends mail to. */
  mailbox: Mailbox;
  urls: string[];
  url: string;
  storePort: number;
  gateways: { port: number; shutdown(): Promise<void> }[];
  stopBroker(): Promise<void>;
  close(): Promise<void>;
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const id = randomBytes(5).toString("hex");
  const dbName = `gw_test_${id}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  await admin.end();
  const dataDir = mkdtempSync(join(tmpdir(), "sker-gw-"));
  const mailbox = await startMailbox();
  const dbUrl = new URL(PG_ADMIN_URL);
  dbUrl.pathname = `/${dbName}`;

  const env: Record<string, string> = {
    JWT_SECRET: `gateway-test-secret-${id}-0123456789abcdef`,
    DATABASE_URL: dbUrl.toString(),
    REDIS_URL,
    REDIS_KEY_PREFIX: `gwtest:${id}:`,
    RABBITMQ_URL,
    SKER_EVENTS_EXCHANGE: `gwtest.${id}.events`,
    SKER_QUEUE_PREFIX: `gwtest.${id}`,
    SKER_DATA_DIR: dataDir,
    STORE_PORT: "0",
    BROKER_PORT: "0",
    GATEWAY_PORT: "0",
    GATEWAY_HOST: "127.0.0.1",
    METRICS_PORT: "0",
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    SCRYPT_COST: "1024",
    // The store's AI budget; tests of it set their own (storeEnv).
    RATE_LIMIT_AI_PER_USER: "1000000",
    LOCAL_AI_TOKEN_DELAY_MS: "2",
    SHUTDOWN_TIMEOUT_MS: "3000",
    SHUTDOWN_DRAIN_DELAY_MS: "0",
    SKER_ADMIN_EMAILS: "admin@example.com",
    OUTBOX_POLL_MS: "200",
    SMTP_URL: mailbox.url,
    MAIL_FROM: "SKER test <no-reply@example.test>",
    ...opts.env,
  };

  const cleanups: (() => Promise<unknown>)[] = [];
  const store = await startStore(loadStoreConfig({ ...env, ...opts.storeEnv }));
  cleanups.push(() => store.shutdown());
  env.STORE_ADDR = `127.0.0.1:${store.port}`;
  let broker: { shutdown(): Promise<void> } | undefined;
  if (opts.withBroker !== false) {
    broker = await startBroker(loadBrokerConfig(env));
    env.BROKER_ADDR = `127.0.0.1:${(broker as unknown as { port: number }).port}`;
  } else {
    env.BROKER_ADDR = "127.0.0.1:1";
  }
  const gateways: Awaited<ReturnType<typeof startGateway>>[] = [];
  // Tests register many users from one IP: the auth budget is raised unless a test sets it.
  const gwEnv = { RATE_LIMIT_AUTH_PER_IP: "100000", RATE_LIMIT_PER_USER: "100000", ...env, ...opts.gatewayEnv };
  for (let i = 0; i < (opts.gateways ?? 1); i++) gateways.push(await startGateway(loadGatewayConfig(gwEnv)));
  const urls = gateways.map((g) => `http://127.0.0.1:${g.port}`);

  let brokerStopped = false;
  const stopBroker = async () => {
    if (brokerStopped) return;
    brokerStopped = true;
    await broker?.shutdown();
  };

  return {
    env,
    mailbox,
    urls,
    url: urls[0],
    storePort: store.port,
    gateways,
    stopBroker,
    async close() {
      await Promise.allSettled(gateways.map((g) => g.shutdown()));
      await stopBroker().catch(() => {});
      for (const c of cleanups.reverse()) await c().catch(() => {});
      await dropAll(id, dbName).catch(() => {});
      await mailbox.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function dropAll(id: string, dbName: string) {
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.end();
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`gwtest:${id}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  const conn = await amqp.connect(RABBITMQ_URL);
  const ch = await conn.createChannel();
  await ch.deleteExchange(`gwtest.${id}.events`).catch(() => {});
  await conn.close().catch(() => {});
}

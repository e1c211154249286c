/**
 * The real store gRPC server for a test, on port 0, isolated from every other run:
 *
 *   const store = await startTestStore({ driver: "pg" });        // or "pglite"; redis: true (default),
 *                                                                 // rabbitmq: false → in-process bus
 *   const alice = await store.register("alice");                  // { id, token, refreshToken, session }
 *   const { project } = await store.clients.projects.createProject({ name: "P" }, { token: alice.token });
 *   await expectAppError(store.clients.nodes.getNode({ id }, { token: bob.token }), "NOT_FOUND");
 *   await store.clients.lifecycle.startTask(req, { token: await store.serviceToken("broker") });
 *   await store.shutdown();                                       // server, bus, Redis keys, database
 *
 * Each store gets its own database (sker_t_<random> or in-memory PGlite), Redis key prefix and
 * events exchange. `store.db` is the Kysely handle for asserting on rows; `store.running.relay`
 * the outbox relay (`await store.running.relay.flush()` publishes what is pending).
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { expect } from "vitest";
import { AppError, channelPool, promiseClient, Tokens, type CallOptions, type ErrorCode, type EventBus, type PromiseClient } from "@sker/kit";
import { UserServiceService, type AuthSession } from "@sker/contracts/store/v1/user";
import { ProjectServiceService } from "@sker/contracts/store/v1/project";
import { NodeServiceService } from "@sker/contracts/store/v1/node";
import { ConnectionServiceService } from "@sker/contracts/store/v1/connection";
import { TaskLifecycleServiceService, TaskServiceService } from "@sker/contracts/store/v1/task";
import { RunServiceService } from "@sker/contracts/store/v1/run";
import { EventServiceService } from "@sker/contracts/store/v1/event";
import { CollabServiceService } from "@sker/contracts/store/v1/collab";
import { UsageServiceService } from "@sker/contracts/store/v1/usage";
import { loadStoreConfig, startStore, type RunningStore, type StoreConfig } from "@sker/store";
import { createTestDb, type Driver, type TestDb } from "./db.js";
import { RABBITMQ_URL, REDIS_URL } from "./urls.js";


export interface TestStoreOptions {
  driver?: Driver;
  /** true (default): the machine's Redis with a random key prefix; false: in-memory; a string: that URL. */
  redis?: boolean | string;
  /** false (default): in-process bus; true: the machine's RabbitMQ; a string: that URL. */
  rabbitmq?: boolean | string;
  /** Extra env for loadStoreConfig (wins over the defaults here). */
  env?: Record<string, string>;
  /** Use this bus instead of making one from the config. */
  bus?: EventBus;
  /** Share another store's database (a second replica); its owner drops it. */
  shareDb?: TestDb;
}

export interface TestUser {
  id: string;
  email: string;
  username: string;
  password: string;
  token: string;
  refreshToken: string;
  session: AuthSession;
}

/** A typed promise client whose requests may leave fields out (proto3 defaults fill them). */
export type TestClient<D> = {
  [K in keyof D]: D[K] extends { requestSerialize: (v: infer Req) => Buffer; responseDeserialize: (b: Buffer) => infer Res }
    ? (req: Partial<Req>, opts: CallOptions) => Promise<Res>
    : never;
};

export type StoreClients = {
  users: TestClient<typeof UserServiceService>;
  projects: TestClient<typeof ProjectServiceService>;
  nodes: TestClient<typeof NodeServiceService>;
  connections: TestClient<typeof ConnectionServiceService>;
  tasks: TestClient<typeof TaskServiceService>;
  /** The broker's side of a task (service token). */
  lifecycle: TestClient<typeof TaskLifecycleServiceService>;
  events: TestClient<typeof EventServiceService>;
  collab: TestClient<typeof CollabServiceService>;
  runs: TestClient<typeof RunServiceService>;
  usage: TestClient<typeof UsageServiceService>;
};

type AnyDef = Record<string, { requestDeserialize: (b: Buffer) => unknown; requestSerialize: (v: any) => Buffer; responseDeserialize: (b: Buffer) => any; path: string }>;

/** Decoding an empty message gives the proto3 defaults; the partial request is laid over them. */
export function withDefaults<D extends AnyDef>(def: D, client: PromiseClient<D>): TestClient<D> {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(def)) {
    const call = (client as Record<string, (req: unknown, opts: CallOptions) => Promise<unknown>>)[name];
    out[name] = (req: object, opts: CallOptions) => call({ ...(def[name].requestDeserialize(Buffer.alloc(0)) as object), ...req }, opts);
  }
  return out as TestClient<D>;
}

export interface TestStore {
  addr: string;
  config: StoreConfig;
  running: RunningStore;
  db: TestDb["db"];
  testDb: TestDb;
  tokens: Tokens;
  clients: StoreClients;
  /** The Redis key prefix of this store (when Redis is on). */
  keyPrefix: string;
  exchange: string;
  serviceToken(name?: string): Promise<string>;
  /** Call options for an RPC the broker relays for this user (CreateTask is broker-only). */
  viaBroker(u: { token: string }): Promise<{ token: string; onBehalfOf: string }>;
  /** Registers through UserService.Register (gateway token); names get a random suffix. */
  register(name?: string): Promise<TestUser>;
  shutdown(): Promise<void>;
}

let counter = 0;
const rand = () => randomBytes(4).toString("hex");

export async function startTestStore(opts: TestStoreOptions = {}): Promise<TestStore> {
  const driver = opts.driver ?? "pg";
  const testDb = opts.shareDb ?? (await createTestDb(driver));
  const ownsDb = !opts.shareDb;
  const id = rand();
  const keyPrefix = `sker-t:${id}:`;
  const exchange = `sker.t.${id}.events`;
  const dataDir = mkdtempSync(join(tmpdir(), "sker-store-t-"));
  const redisUrl = opts.redis === false ? undefined : typeof opts.redis === "string" ? opts.redis : REDIS_URL;
  const rabbitUrl = opts.rabbitmq === true ? RABBITMQ_URL : typeof opts.rabbitmq === "string" ? opts.rabbitmq : undefined;
  const env: Record<string, string | undefined> = {
    STORE_HOST: "127.0.0.1",
    STORE_PORT: "0",
    METRICS_PORT: "0",
    SKER_DATA_DIR: dataDir,
    JWT_SECRET: randomBytes(32).toString("base64url"),
    LOG_LEVEL: "silent",
    SHUTDOWN_DRAIN_DELAY_MS: "0",
    SCRYPT_COST: "1024",
    // Tests that submit hundreds of tasks must not meet the AI budget; the budget's tests set it.
    RATE_LIMIT_AI_PER_USER: "1000000",
    OUTBOX_POLL_MS: "200",
    DATABASE_URL: testDb.url,
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: keyPrefix,
    RABBITMQ_URL: rabbitUrl,
    SKER_EVENTS_EXCHANGE: exchange,
    ...opts.env,
  };
  const config = loadStoreConfig(env);
  let running: RunningStore;
  try {
    running = await startStore(config, { db: testDb.db, bus: opts.bus });
  } catch (err) {
    if (ownsDb) await testDb.cleanup();
    throw err;
  }
  const addr = `127.0.0.1:${running.port}`;
  const pool = channelPool(addr, 2);
  const client = <D extends AnyDef>(def: D) => withDefaults(def, promiseClient(def, pool, { deadlineMs: 15_000, retries: 0 }));
  const clients: StoreClients = {
    users: client(UserServiceService),
    projects: client(ProjectServiceService),
    nodes: client(NodeServiceService),
    connections: client(ConnectionServiceService),
    tasks: client(TaskServiceService),
    lifecycle: client(TaskLifecycleServiceService),
    events: client(EventServiceService),
    collab: client(CollabServiceService),
    runs: client(RunServiceService),
    usage: client(UsageServiceService),
  };
  const tokens = new Tokens(config.common);
  const serviceToken = (name = "gateway") => new Tokens(config.common).service(name);

  return {
    addr,
    config,
    running,
    db: testDb.db,
    testDb,
    tokens,
    clients,
    keyPrefix,
    exchange,
    serviceToken,
    viaBroker: async (u) => ({ token: await serviceToken("broker"), onBehalfOf: u.token }),
    async register(name = "user") {
      const username = `${name}_${rand()}${counter++}`.slice(0, 32);
      const email = `${username}@example.test`;
      const password = `pw-${rand()}-long`;
      const { session } = await clients.users.register({ email, username, password, displayName: name }, { token: await serviceToken("gateway") });
      return { id: session!.user!.id, email, username, password, token: session!.accessToken, refreshToken: session!.refreshToken, session: session! };
    },
    async shutdown() {
      pool.close();
      await running.shutdown();
      if (ownsDb) await testDb.cleanup();
      rmSync(dataDir, { recursive: true, force: true });
      if (redisUrl) await dropKeys(redisUrl, keyPrefix);
    },
  };
}

async function dropKeys(url: string, prefix: string) {
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: 500, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on("error", () => undefined);
  try {
    await redis.connect();
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== "0");
  } catch {
    // a test pointed at a dead Redis: nothing to clean
  } finally {
    redis.disconnect();
  }
}

/** Awaits a rejected call and checks the domain code (and the field named, for validation errors). */
export async function expectAppError(p: Promise<unknown>, code: ErrorCode, field?: string): Promise<AppError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected ${code}, but the call succeeded`).toBeInstanceOf(AppError);
  const app = err as AppError;
  expect({ code: app.code, message: app.message }).toMatchObject({ code });
  if (field !== undefined) expect(app.details?.field).toBe(field);
  return app;
}

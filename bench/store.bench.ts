// `make bench`: the store over gRPC with 50 calls in flight against the same operation done
// in-process through kysely (the baseline, measured in the same run on the same database).
// Prints a table and writes bench-results/store.json for bench/summary.mjs.
import { mkdirSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { channelPool, commonConfig, createLogger, promiseClient } from "@sker/kit";
import { UserServiceService } from "@sker/contracts/store/v1/user";
import { ProjectServiceService } from "@sker/contracts/store/v1/project";
import { NodeServiceService } from "@sker/contracts/store/v1/node";
import { loadStoreConfig } from "../services/store/src/config.js";
import { startStore } from "../services/store/src/start.js";
import { openDatabase } from "../services/store/src/db/connect.js";
import type { Cache } from "../services/store/src/deps.js";
import { createNodeTx } from "../services/store/src/nodes/changes.js";
import { findNode, listNodes } from "../services/store/src/nodes/repo.js";
import { createTestDb } from "@sker/testkit/db";

const IN_FLIGHT = 50;
const QUICK = process.env.BENCH_QUICK === "1";
const N = { get: QUICK ? 1000 : 6000, create: QUICK ? 500 : 2000, list: QUICK ? 200 : 1000 };

/** No cache at all: every read goes to PostgreSQL (the "uncached" column). */
const noCache: Cache = { get: async () => undefined, set: async () => undefined, del: async () => undefined, getThen: async () => [undefined, undefined], close: async () => undefined };

interface Result {
  calls: number;
  perSec: number;
  p50: number;
  p99: number;
}

async function measure(total: number, fn: (i: number) => Promise<unknown>): Promise<Result> {
  // Warm up (JIT, connections, cache fill) outside the measured window.
  await Promise.all(Array.from({ length: IN_FLIGHT }, (_, i) => fn(i)));
  const latencies: number[] = [];
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < total) {
        const i = next++;
        const t0 = process.hrtime.bigint();
        await fn(i);
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
  return { calls: total, perSec: total / seconds, p50: pct(0.5), p99: pct(0.99) };
}

/**
 * `make bench` points this at the store `make up` started (BENCH_STORE_ADDR, its database in
 * BENCH_DATABASE_URL, its JWT secret through SKER_DATA_DIR): the cached figures are that
 * process's, over a real socket. The uncached store (no cache at all) runs in this process on
 * the same database. Alone, it makes its own database and runs both stores here.
 */
const external = process.env.BENCH_STORE_ADDR && process.env.BENCH_DATABASE_URL
  ? { addr: process.env.BENCH_STORE_ADDR, databaseUrl: process.env.BENCH_DATABASE_URL }
  : undefined;

async function main() {
  const testDb = external
    ? await (async () => {
        const db = await openDatabase({ databaseUrl: external.databaseUrl, dataDir: "/tmp", poolSize: 20 });
        return { db, url: external.databaseUrl, cleanup: () => db.destroy() };
      })()
    : await createTestDb("pg");
  const base = {
    STORE_HOST: "127.0.0.1",
    STORE_PORT: "0",
    METRICS_PORT: "0",
    SKER_DATA_DIR: "/tmp",
    JWT_SECRET: external ? commonConfig().jwtSecret : randomBytes(32).toString("base64url"),
    LOG_LEVEL: "silent",
    SCRYPT_COST: "1024",
    RATE_LIMIT_AI_PER_USER: "1000000000",
    DATABASE_URL: testDb.url,
    DB_POOL_SIZE: "20",
    REDIS_URL: process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379",
    REDIS_KEY_PREFIX: `sker-bench:${randomBytes(4).toString("hex")}:`,
    SKER_EVENTS_EXCHANGE: `sker.bench.${randomBytes(4).toString("hex")}`,
  };
  const log = createLogger("store-bench", "silent");
  const cached = external ? undefined : await startStore(loadStoreConfig(base), { db: testDb.db, log });
  const uncached = await startStore(loadStoreConfig(base), { db: testDb.db, log, cache: noCache });
  const clientsFor = (addr: string) => {
    const pool = channelPool(addr, 3);
    return {
      pool,
      users: promiseClient(UserServiceService, pool, { deadlineMs: 30_000 }),
      projects: promiseClient(ProjectServiceService, pool, { deadlineMs: 30_000 }),
      nodes: promiseClient(NodeServiceService, pool, { deadlineMs: 30_000 }),
    };
  };
  const c = clientsFor(external?.addr ?? `127.0.0.1:${cached!.port}`);
  const u = clientsFor(`127.0.0.1:${uncached.port}`);
  console.log(`store bench: cached store at ${external ? `${external.addr} (make up)` : "this process"}`);
  const results: { op: string; grpc: Result; kysely: Result }[] = [];
  try {
    const gateway = await uncached.deps.tokens.service("gateway");
    const tag = randomBytes(4).toString("hex");
    const { session } = await c.users.register({ email: `bench-${tag}@example.test`, username: `bench_${tag}`, password: "long enough", displayName: "" }, { token: gateway });
    const token = session!.accessToken;
    const userId = session!.user!.id;
    const opts = { token };
    const projectId = (await c.projects.createProject({ name: "bench", description: "", canvasData: {}, settings: {} }, opts)).project!.id;
    const newNode = (i: number) => ({
      projectId,
      title: `node ${i}`,
      content: "x".repeat(300),
      semanticType: "idea",
      importance: 3,
      confidence: 0.9,
      status: "NODE_STATUS_IDLE" as const,
      tags: ["bench"],
      position: { x: i, y: i },
      size: { width: 240, height: 120 },
      metadata: {},
      parentId: "",
    });
    const ids: string[] = [];
    for (let i = 0; i < 200; i++) ids.push((await c.nodes.createNode(newNode(i), opts)).node!.id);
    const db = testDb.db;
    const pick = (i: number) => ids[i % ids.length];

    results.push({
      op: "GetNode (cached)",
      grpc: await measure(N.get, (i) => c.nodes.getNode({ id: pick(i) }, opts)),
      kysely: await measure(N.get, (i) => findNode(db, pick(i))),
    });
    results.push({
      op: "GetNode (uncached)",
      grpc: await measure(N.get, (i) => u.nodes.getNode({ id: pick(i) }, opts)),
      kysely: await measure(N.get, (i) => findNode(db, pick(i))),
    });
    results.push({
      op: "CreateNode",
      grpc: await measure(N.create, (i) => c.nodes.createNode(newNode(i), opts)),
      kysely: await measure(N.create, (i) =>
        db.transaction().execute((trx) =>
          createNodeTx(
            trx,
            { project_id: projectId, title: `node ${i}`, content: "x".repeat(300), semantic_type: "idea", confidence: 0.9, tags: ["bench"], metadata: "{}", created_by: userId },
            "create",
            { userId },
          ),
        ),
      ),
    });
    results.push({
      op: "ListNodes (100/page)",
      grpc: await measure(N.list, () => c.nodes.listNodes({ projectId, status: "NODE_STATUS_UNSPECIFIED", tag: "", q: "", page: { limit: 100, cursor: "" } }, opts)),
      kysely: await measure(N.list, () => listNodes(db, { projectId, page: { limit: 100, after: undefined } })),
    });
  } finally {
    c.pool.close();
    u.pool.close();
    await cached?.shutdown();
    await uncached.shutdown();
    await testDb.cleanup();
  }

  const f = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(2));
  console.log(`store over gRPC vs in-process kysely, ${IN_FLIGHT} in flight, PostgreSQL ${testDb.url?.replace(/\/[^/]*$/, "")}`);
  console.table(
    results.map((r) => ({
      operation: r.op,
      "gRPC calls/s": f(r.grpc.perSec),
      "gRPC p50 ms": f(r.grpc.p50),
      "gRPC p99 ms": f(r.grpc.p99),
      "kysely calls/s": f(r.kysely.perSec),
      "kysely p50 ms": f(r.kysely.p50),
      "kysely p99 ms": f(r.kysely.p99),
      "throughput ratio": f(r.grpc.perSec / r.kysely.perSec),
    })),
  );
  const rows = results.flatMap((r) => [
    { name: `${r.op} calls/s`, value: r.grpc.perSec, unit: "calls/s", baseline: "in-process kysely", baselineValue: r.kysely.perSec, ratio: r.grpc.perSec / r.kysely.perSec },
    { name: `${r.op} p50`, value: r.grpc.p50, unit: "ms", baseline: "in-process kysely", baselineValue: r.kysely.p50, ratio: r.grpc.p50 / r.kysely.p50 },
    { name: `${r.op} p99`, value: r.grpc.p99, unit: "ms", baseline: "in-process kysely", baselineValue: r.kysely.p99, ratio: r.grpc.p99 / r.kysely.p99 },
  ]);
  mkdirSync("bench-results", { recursive: true });
  writeFileSync("bench-results/store.json", JSON.stringify(rows, null, 2));
}

await main();
process.exit(0);

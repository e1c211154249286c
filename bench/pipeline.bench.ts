// `make bench`: the AI task pipeline end to end (submit → task.completed event), local provider
// at 0 delay, with 1 and with 2 broker processes on the real RabbitMQ and PostgreSQL. Prints
// tasks/s, p50/p99 of submit → started and submit → completed, store calls and SQL statements
// per task, and writes bench-results/broker.json for bench/summary.mjs.
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { channelPool, createEventBus, createLogger, promiseClient, Tokens } from "@sker/kit";
import { BrokerServiceService } from "@sker/contracts/broker/v1/broker";
import { UserServiceService } from "@sker/contracts/store/v1/user";
import { ProjectServiceService } from "@sker/contracts/store/v1/project";
import { TaskPriority, TaskType } from "@sker/contracts/store/v1/task";
import { loadStoreConfig } from "../services/store/src/config.js";
import { startStore } from "../services/store/src/start.js";
import { createTestDb } from "@sker/testkit/db";
import { deleteTopology } from "@sker/testkit/rabbit";
import { spawnBroker, statementCounter } from "./broker-support.js";
import { backendOf, cpuSeconds } from "./cpu.js";

const QUICK = process.env.BENCH_QUICK === "1";
const TASKS = QUICK ? 150 : 400;
const IN_FLIGHT = 16;
/** Tasks spread over this many projects (each project serializes its own event sequence). */
const PROJECTS = Number(process.env.BENCH_PROJECTS ?? 1);
const RABBITMQ_URL = process.env.TEST_RABBITMQ_URL ?? "amqp://guest:guest@127.0.0.1:5672";

async function storeCalls(metricsPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  let n = 0;
  for (const m of text.matchAll(/^grpc_client_handling_seconds_count\{[^}]*method="\/sker\.store\.v1\.[^"]+"[^}]*\} (\d+)/gm)) n += Number(m[1]);
  return n;
}

/** CPU seconds (user + system) used so far by processes, from /proc (Linux, 100 ticks/s). */
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};

async function main() {
  const log = createLogger("broker-bench", "silent");
  // Before any connection is made: pg-cancel binds each client's query when it connects.
  const { counter } = statementCounter();
  const testDb = await createTestDb("pg");
  const dbName = new URL(testDb.url!).pathname.slice(1);
  const id = randomBytes(4).toString("hex");
  const exchange = `bench.broker.${id}.events`;
  const secret = randomBytes(32).toString("base64url");
  const store = await startStore(
    loadStoreConfig({
      STORE_HOST: "127.0.0.1",
      STORE_PORT: "0",
      METRICS_PORT: "0",
      SKER_DATA_DIR: "/tmp",
      JWT_SECRET: secret,
      LOG_LEVEL: "silent",
      SCRYPT_COST: "1024",
      RATE_LIMIT_AI_PER_USER: "1000000000",
      DATABASE_URL: testDb.url!,
      DB_POOL_SIZE: "20",
      RABBITMQ_URL,
      SKER_EVENTS_EXCHANGE: exchange,
      OUTBOX_POLL_MS: "200",
    }),
    { db: testDb.db, log },
  );
  const tokens = new Tokens({ jwtSecret: secret, jwtIssuer: "sker", jwtAudience: "sker-api" });
  const storePool = channelPool(`127.0.0.1:${store.port}`, 2);
  const users = promiseClient(UserServiceService, storePool, { deadlineMs: 30_000 });
  const projects = promiseClient(ProjectServiceService, storePool, { deadlineMs: 30_000 });
  const { session } = await users.register({ email: `bench-${id}@example.test`, username: `bench_${id}`, password: "long enough pw", displayName: "" }, { token: await tokens.service("gateway") });
  const token = session!.accessToken;

  if (process.env.BENCH_DEBUG) console.error("store up, user registered");
  const bus = createEventBus({ url: RABBITMQ_URL, exchange, log });
  const rows: { name: string; value: number; unit: string; baseline?: string; baselineValue?: number; ratio?: number }[] = [];
  const table: Record<string, Record<string, string>> = {};
  const prefixes: string[] = [];
  let single = 0;

  for (const brokerCount of process.env.BENCH_ONE_BROKER ? [1] : [1, 2]) {
    const prefix = `bench.broker.${id}.${brokerCount}`;
    prefixes.push(prefix);
    const env = {
      BROKER_PORT: "0",
      METRICS_PORT: "0",
      STORE_ADDR: `127.0.0.1:${store.port}`,
      JWT_SECRET: secret,
      SKER_DATA_DIR: "/tmp",
      RABBITMQ_URL,
      SKER_QUEUE_PREFIX: prefix,
      SKER_EVENTS_EXCHANGE: exchange,
      LOG_LEVEL: "info",
      LOCAL_AI_TOKEN_DELAY_MS: "0",
      BROKER_CONCURRENCY: "8",
    };
    if (process.env.BENCH_DEBUG) console.error("spawning brokers");
    const brokers = await Promise.all(Array.from({ length: brokerCount }, () => spawnBroker(env)));
    const pool = channelPool(`127.0.0.1:${brokers[0].port}`, 3);
    const broker = promiseClient(BrokerServiceService, pool, { deadlineMs: 30_000 });
    const projectIds: string[] = [];
    for (let p = 0; p < PROJECTS; p++)
      projectIds.push((await projects.createProject({ name: `bench ${brokerCount}.${p}`, description: "", canvasData: {}, settings: {} }, { token })).project!.id);

    const startedAt = new Map<string, number>();
    const completedAt = new Map<string, number>();
    const sub = await bus.subscribe((e) => {
      // Persisted events carry their resource as EventPayload JSON ({ task: {...} }).
      const taskId = (e.data as { task?: { id?: string } }).task?.id;
      if (!taskId) return;
      if (e.name === "task.started" && !startedAt.has(taskId)) startedAt.set(taskId, performance.now());
      if (e.name === "task.completed") completedAt.set(taskId, performance.now());
    });
    for (const projectId of projectIds) await sub.watch(projectId);

    const run = async (count: number, label: string, inFlight = IN_FLIGHT) => {
      const submittedAt = new Map<string, number>();
      let next = 0;
      await Promise.all(
        Array.from({ length: inFlight }, async () => {
          while (next < count) {
            const i = next++;
            const t0 = performance.now();
            const { task } = await broker.submitTask(
              { projectId: projectIds[i % PROJECTS], type: TaskType.TASK_TYPE_GENERATE, nodeId: "", sourceNodeIds: [], prompt: `${label} ${i}`, priority: TaskPriority.TASK_PRIORITY_NORMAL, idempotencyKey: "", retryOf: "", options: undefined },
              { token },
            );
            submittedAt.set(task!.id, t0);
          }
        }),
      );
      const deadline = Date.now() + 180_000;
      while ([...submittedAt.keys()].some((k) => !completedAt.has(k))) {
        if (Date.now() > deadline) throw new Error("tasks did not complete in time");
        await sleep(20);
      }
      return submittedAt;
    };

    if (process.env.BENCH_DEBUG) console.error("brokers up; warm-up");
    await run(20, "warm-up");
    if (process.env.BENCH_DEBUG) console.error("warm-up done");
    const callsBefore = (await Promise.all(brokers.map((b) => storeCalls(b.metricsPort)))).reduce((a, b) => a + b, 0);
    const sqlBefore = counter.n;
    counter.byKind.clear();
    counter.byStep.clear();
    const brokerPids = new Set(brokers.map((b) => b.child.pid!));
    const cpu = () => ({
      brokers: cpuSeconds((pid) => brokerPids.has(pid)),
      storeAndBench: cpuSeconds((pid) => pid === process.pid),
      postgres: cpuSeconds((_, comm) => comm === "postgres"),
      // The machine is shared: only the backends serving this bench's database (they live as
      // long as the pool keeps them, which is the whole run).
      postgresOwn: cpuSeconds((pid, comm) => comm === "postgres" && backendOf(pid) === dbName),
      rabbitmq: cpuSeconds((_, comm) => comm === "beam.smp"),
    });
    const cpuBefore = cpu();
    const submittedAt = await run(TASKS, "bench");
    const callsAfter = (await Promise.all(brokers.map((b) => storeCalls(b.metricsPort)))).reduce((a, b) => a + b, 0);
    const sqlAfter = counter.n;
    if (process.env.BENCH_SQL_KINDS) {
      console.log(`statements by step over ${TASKS} tasks, ${brokerCount} broker(s):`);
      for (const [k, v] of [...counter.byStep].sort((a, b) => b[1] - a[1])) console.log(`  ${(v / TASKS).toFixed(2)}  ${k}`);
      console.log(`statements by step and text:`);
      for (const [k, v] of [...counter.byKind].sort((a, b) => b[1] - a[1])) console.log(`  ${(v / TASKS).toFixed(2)}  ${k}`);
    }
    const cpuAfter = cpu();
    const cpuMs = (k: keyof typeof cpuBefore) => ((cpuAfter[k] - cpuBefore[k]) * 1000) / TASKS;

    // Unloaded latency: one task at a time, so no backlog stands between submit and start.
    const single1 = await run(QUICK ? 15 : 40, "one at a time", 1);
    const lightIds = [...single1.keys()];
    const lightStart = lightIds.filter((k) => startedAt.has(k)).map((k) => startedAt.get(k)! - single1.get(k)!);
    const lightDone = lightIds.map((k) => completedAt.get(k)! - single1.get(k)!);

    const ids = [...submittedAt.keys()];
    const first = Math.min(...submittedAt.values());
    const last = Math.max(...ids.map((k) => completedAt.get(k)!));
    const perSec = TASKS / ((last - first) / 1000);
    const toStart = ids.filter((k) => startedAt.has(k)).map((k) => startedAt.get(k)! - submittedAt.get(k)!);
    const toDone = ids.map((k) => completedAt.get(k)! - submittedAt.get(k)!);
    const label = `${brokerCount} broker${brokerCount > 1 ? "s" : ""}`;
    if (brokerCount === 1) single = perSec;
    const figures = {
      "tasks/s": perSec,
      // With 16 submits in flight the queue backs up: these include the wait in line.
      "submit→started p50 ms": pct(toStart, 0.5),
      "submit→started p99 ms": pct(toStart, 0.99),
      "submit→completed p50 ms": pct(toDone, 0.5),
      "submit→completed p99 ms": pct(toDone, 0.99),
      "1 in flight: submit→started p50 ms": pct(lightStart, 0.5),
      "1 in flight: submit→started p99 ms": pct(lightStart, 0.99),
      "1 in flight: submit→completed p50 ms": pct(lightDone, 0.5),
      "1 in flight: submit→completed p99 ms": pct(lightDone, 0.99),
      "store calls/task": (callsAfter - callsBefore) / TASKS,
      "SQL statements/task": (sqlAfter - sqlBefore) / TASKS,
      "CPU ms/task brokers": cpuMs("brokers"),
      "CPU ms/task store+bench": cpuMs("storeAndBench"),
      "CPU ms/task PostgreSQL": cpuMs("postgres"),
      "CPU ms/task PostgreSQL, own backends": cpuMs("postgresOwn"),
      "CPU ms/task RabbitMQ": cpuMs("rabbitmq"),
    };
    table[label] = Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, v.toFixed(k.includes("/task") && !k.startsWith("CPU") ? 2 : 1)]));
    for (const [k, v] of Object.entries(figures)) {
      const row: (typeof rows)[number] = { name: `${label}: ${k}`, value: v, unit: k.startsWith("CPU") ? "ms CPU/task" : k.includes("ms") ? "ms" : k.includes("/s") ? "tasks/s" : "per task" };
      if (k === "tasks/s" && brokerCount === 2) Object.assign(row, { baseline: "1 broker", baselineValue: single, ratio: v / single });
      rows.push(row);
    }

    await sub.close();
    pool.close();
    for (const b of brokers) b.child.kill("SIGTERM");
    await Promise.all(brokers.map((b) => new Promise((r) => (b.child.exitCode !== null ? r(null) : b.child.once("exit", r)))));
  }

  console.log(`broker pipeline: ${TASKS} generate tasks in ${PROJECTS} project(s), local provider at 0 delay, ${IN_FLIGHT} submits in flight, BROKER_CONCURRENCY=8 per broker`);
  // One row per figure reads better than 11 columns.
  const byFigure: Record<string, Record<string, string>> = {};
  for (const [label, figs] of Object.entries(table)) for (const [k, v] of Object.entries(figs)) (byFigure[k] ??= {})[label] = v;
  console.table(byFigure);
  mkdirSync("bench-results", { recursive: true });
  writeFileSync("bench-results/broker.json", JSON.stringify(rows, null, 2));

  await bus.close();
  storePool.close();
  await store.shutdown();
  await testDb.cleanup();
  for (const p of prefixes) await deleteTopology(p, 1000, 60_000);
  await deleteTopology(`bench.none.${id}`, 1000, 60_000, [exchange]);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);

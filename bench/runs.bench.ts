// `make bench`: a graph run of 100 AI nodes (10 layers of 10, each node fed by two of the layer
// before) with the local provider at 0 delay and one broker process, against the same 100 tasks
// submitted on their own (16 in flight) in the same run. Prints the run's wall time, tasks/s and
// the overhead per node, and a re-run where every node is cached; writes bench-results/runs.json.
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { channelPool, createEventBus, createLogger, promiseClient, Tokens } from "@sker/kit";
import { BrokerServiceService } from "@sker/contracts/broker/v1/broker";
import { ConnectionServiceService, ConnectionType } from "@sker/contracts/store/v1/connection";
import { NodeServiceService, NodeStatus } from "@sker/contracts/store/v1/node";
import { ProjectServiceService } from "@sker/contracts/store/v1/project";
import { TaskPriority, TaskType } from "@sker/contracts/store/v1/task";
import { UserServiceService } from "@sker/contracts/store/v1/user";
import { loadStoreConfig } from "../services/store/src/config.js";
import { startStore } from "../services/store/src/start.js";
import { createTestDb } from "@sker/testkit/db";
import { deleteTopology } from "@sker/testkit/rabbit";
import { spawnBroker, statementCounter } from "./broker-support.js";

const LAYERS = 10;
const WIDTH = 10;
const NODES = LAYERS * WIDTH;
const IN_FLIGHT = 16;
const RABBITMQ_URL = process.env.TEST_RABBITMQ_URL ?? "amqp://guest:guest@127.0.0.1:5672";

async function main() {
  const log = createLogger("runs-bench", "silent");
  // Before any connection is made: pg-cancel binds each client's query when it connects.
  const { counter } = statementCounter();
  const testDb = await createTestDb("pg");
  const id = randomBytes(4).toString("hex");
  const exchange = `bench.runs.${id}.events`;
  const prefix = `bench.runs.${id}`;
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
  const d = { deadlineMs: 30_000 };
  const users = promiseClient(UserServiceService, storePool, d);
  const projects = promiseClient(ProjectServiceService, storePool, d);
  const nodes = promiseClient(NodeServiceService, storePool, d);
  const connections = promiseClient(ConnectionServiceService, storePool, d);
  const { session } = await users.register({ email: `runs-${id}@example.test`, username: `runs_${id}`, password: "long enough pw", displayName: "" }, { token: await tokens.service("gateway") });
  const as = { token: session!.accessToken };

  const brokerProc = await spawnBroker({
    BROKER_PORT: "0",
    METRICS_PORT: "0",
    STORE_ADDR: `127.0.0.1:${store.port}`,
    JWT_SECRET: secret,
    SKER_DATA_DIR: "/tmp",
    RABBITMQ_URL,
    SKER_QUEUE_PREFIX: prefix,
    SKER_EVENTS_EXCHANGE: exchange,
    // info: spawnBroker waits for its "broker ready" line.
    LOG_LEVEL: "info",
    LOCAL_AI_TOKEN_DELAY_MS: "0",
    BROKER_CONCURRENCY: "8",
  });
  const brokerPool = channelPool(`127.0.0.1:${brokerProc.port}`, 2);
  const broker = promiseClient(BrokerServiceService, brokerPool, d);

  if (process.env.BENCH_DEBUG) console.error("store and broker up");
  // The canvas: one plain note feeding layer 0; node i of layer k is fed by nodes i and i+1 of layer k-1.
  const project = (await projects.createProject({ name: "runs bench", description: "", canvasData: {}, settings: {} }, as)).project!.id;
  const make = (title: string, content = "", recipe?: { type: string; prompt: string; model: string }) =>
    nodes.createNode({ projectId: project, title, content, semanticType: "", importance: 0, status: NodeStatus.NODE_STATUS_UNSPECIFIED, tags: [], parentId: "", recipe }, as).then((r) => r.node!.id);
  const link = (from: string, to: string) => connections.createConnection({ projectId: project, sourceNodeId: from, targetNodeId: to, type: ConnectionType.CONNECTION_TYPE_INPUT, label: "" }, as);
  const seed = await make("Brief", "A lunar base: habitats, power, water, supply routes and crew safety.");
  const layers: string[][] = [];
  for (let k = 0; k < LAYERS; k++) {
    const layer: string[] = [];
    for (let i = 0; i < WIDTH; i++) {
      const n = await make(`L${k}N${i}`, "", { type: "generate", prompt: `Layer ${k}, step ${i}: develop the plan`, model: "" });
      if (k === 0) await link(seed, n);
      else for (const from of new Set([layers[k - 1][i], layers[k - 1][(i + 1) % WIDTH]])) await link(from, n);
      layer.push(n);
    }
    layers.push(layer);
  }
  const all = layers.flat();

  // Completion times from the events the store publishes (what a canvas client sees).
  const bus = createEventBus({ url: RABBITMQ_URL, exchange, log });
  const completedAt = new Map<string, number>();
  const finishedRuns = new Map<string, number>();
  const sub = await bus.subscribe((e) => {
    // Persisted events carry their resource as EventPayload JSON ({ task: {...} }, { run: {...} }).
    const data = e.data as { task?: { id?: string }; run?: { id?: string } };
    if (e.name === "task.completed" && data.task?.id) completedAt.set(data.task.id, performance.now());
    if (e.name === "run.finished" && data.run?.id) finishedRuns.set(data.run.id, performance.now());
  });
  await sub.watch(project);
  const until = async (done: () => boolean, what: string) => {
    if (process.env.BENCH_DEBUG) console.error(`waiting for ${what}`);
    const deadline = Date.now() + 120_000;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`${what} did not finish in time`);
      await sleep(5);
    }
  };

  // Warm-up: a few independent tasks so both sides start with warm connections and JIT.
  const submit = (nodeId: string, prompt: string) =>
    broker
      .submitTask({ projectId: project, type: TaskType.TASK_TYPE_GENERATE, nodeId, sourceNodeIds: [], prompt, options: undefined, priority: TaskPriority.TASK_PRIORITY_NORMAL, idempotencyKey: "", retryOf: "" }, as)
      .then((r) => r.task!.id);
  const warm = await Promise.all(all.slice(0, 16).map((n) => submit(n, "warm-up")));
  await until(() => warm.every((t) => completedAt.has(t)), "warm-up");

  const timedRun = async (force: boolean) => {
    const sql0 = counter.n;
    const t0 = performance.now();
    const { run } = await broker.startRun({ projectId: project, targets: [], force }, as);
    await until(() => finishedRuns.has(run!.id), "the run");
    return { ms: finishedRuns.get(run!.id)! - t0, sql: counter.n - sql0 };
  };
  const first = await timedRun(true);
  const cached = await timedRun(false);

  // The same 100 tasks submitted on their own, 16 in flight.
  const sql0 = counter.n;
  const t0 = performance.now();
  const ids: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < all.length) {
        const i = next++;
        ids.push(await submit(all[i], `Layer ${Math.floor(i / WIDTH)}, step ${i % WIDTH}: develop the plan`));
      }
    }),
  );
  await until(() => ids.every((t) => completedAt.has(t)), "the independent tasks");
  const independentMs = Math.max(...ids.map((t) => completedAt.get(t)!)) - t0;
  const independentSql = counter.n - sql0;

  const figures = {
    "100-node run (10×10 layers): wall ms": first.ms,
    "100-node run: tasks/s": (NODES * 1000) / first.ms,
    "same 100 tasks submitted on their own: wall ms": independentMs,
    "same 100 tasks submitted on their own: tasks/s": (NODES * 1000) / independentMs,
    "run overhead per node ms": (first.ms - independentMs) / NODES,
    "SQL statements per run node": first.sql / NODES,
    "SQL statements per independent task": independentSql / NODES,
    "re-run, all 100 cached: wall ms": cached.ms,
  };
  console.log(`graph runs: ${NODES} AI nodes in ${LAYERS} layers of ${WIDTH} (each fed by 2 of the layer before), local provider at 0 delay, 1 broker, BROKER_CONCURRENCY=8`);
  console.table(Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, v.toFixed(k.includes("SQL") || k.includes("per node") ? 2 : 1)])));
  const rows = Object.entries(figures).map(([name, value]) => ({ name, value, unit: name.includes("tasks/s") ? "tasks/s" : name.includes("ms") ? "ms" : "per node" }));
  Object.assign(rows[0], { baseline: "independent submissions", baselineValue: independentMs, ratio: first.ms / independentMs });
  Object.assign(rows[1], { baseline: "independent submissions", baselineValue: (NODES * 1000) / independentMs, ratio: first.ms === 0 ? 0 : independentMs / first.ms });
  mkdirSync("bench-results", { recursive: true });
  writeFileSync("bench-results/runs.json", JSON.stringify(rows, null, 2));

  await sub.close();
  await bus.close();
  brokerPool.close();
  brokerProc.child.kill("SIGTERM");
  await new Promise((r) => (brokerProc.child.exitCode !== null ? r(null) : brokerProc.child.once("exit", r)));
  storePool.close();
  await store.shutdown();
  await testDb.cleanup();
  await deleteTopology(prefix, 1000, 60_000, [exchange]);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);

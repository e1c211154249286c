/**
 * The broker as a test drives it: a real store (its own PostgreSQL database) and brokers on
 * the machine's RabbitMQ with a queue prefix and events exchange of their own.
 *
 *   const h = await startHarness({ env: { AI_TASK_MAX_ATTEMPTS: "2" } });
 *   const broker = await h.startBroker();                       // in-process, port 0
 *   const child = await h.spawnBroker();                        // a separate process (kill -9 tests)
 *   const { user, project, node } = await h.seed();
 *   const { task } = await h.client().submitTask({ projectId, type, prompt }, { token: user.token });
 *   await h.waitForStatus(task.id, "completed");
 *   await h.shutdown();
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { sql } from "kysely";
import { channelPool, createEventBus, createLogger, fromProtoEnum, promiseClient, type BusEvent, type EventSubscription } from "@sker/kit";
import { BrokerServiceService } from "@sker/contracts/broker/v1/broker";
import { TaskType, type Task } from "@sker/contracts/store/v1/task";
import { loadBrokerConfig } from "../../src/config.js";
import { startBroker, type BrokerOverrides, type RunningBroker } from "../../src/start.js";
import { startTestStore, withDefaults, type TestStore, type TestUser } from "@sker/testkit/store";
import { deleteTopology } from "@sker/testkit/rabbit";
import { RABBITMQ_URL } from "@sker/testkit/urls";

const RETRY_BASE_MS = 100;
const RETRY_MAX_MS = 800;
const BROKER_MAIN = fileURLToPath(new URL("../../dist/main.js", import.meta.url));

export interface HarnessOptions {
  /** Env for every broker (wins over the test defaults here). */
  env?: Record<string, string>;
  /** Brokers reach RabbitMQ here instead (a proxy in front of it). */
  rabbitmqUrl?: string;
}

export async function startHarness(opts: HarnessOptions = {}) {
  const store: TestStore = await startTestStore({ driver: "pg", redis: false });
  const id = randomBytes(4).toString("hex");
  const prefix = `test.broker.${id}`;
  const exchange = `test.broker.${id}.events`;
  const brokers: RunningBroker[] = [];
  const children: ChildProcess[] = [];
  const log = createLogger("broker-test", "silent");

  const env = (extra: Record<string, string> = {}): Record<string, string> => ({
    BROKER_PORT: "0",
    METRICS_PORT: "0",
    STORE_ADDR: store.addr,
    JWT_SECRET: store.config.common.jwtSecret,
    SKER_DATA_DIR: store.config.common.dataDir,
    RABBITMQ_URL: opts.rabbitmqUrl ?? RABBITMQ_URL,
    SKER_QUEUE_PREFIX: prefix,
    SKER_EVENTS_EXCHANGE: exchange,
    LOG_LEVEL: "silent",
    LOCAL_AI_TOKEN_DELAY_MS: "0",
    BROKER_LEASE_MS: "3000",
    BROKER_REAPER_INTERVAL_MS: "500",
    BROKER_RECLAIM_QUEUED_AFTER_MS: "20000",
    BROKER_RETRY_BASE_MS: String(RETRY_BASE_MS),
    BROKER_RETRY_MAX_MS: String(RETRY_MAX_MS),
    SHUTDOWN_TIMEOUT_MS: "3000",
    SHUTDOWN_DRAIN_DELAY_MS: "0",
    ...opts.env,
    ...extra,
  });

  const pools: { close(): void }[] = [];
  const bus = createEventBus({ url: RABBITMQ_URL, exchange, log });

  const h = {
    store,
    prefix,
    exchange,
    env,

    async startBroker(extra: Record<string, string> = {}, overrides: BrokerOverrides = {}): Promise<RunningBroker> {
      const b = await startBroker(loadBrokerConfig(env(extra)), overrides);
      brokers.push(b);
      return b;
    },

    /** A broker in its own process, on a free port; resolves once it listens. */
    async spawnBroker(extra: Record<string, string> = {}): Promise<{ child: ChildProcess; port: number; metricsPort: number }> {
      const child = spawn(process.execPath, [BROKER_MAIN], { env: { ...process.env, ...env({ LOG_LEVEL: "info", ...extra }) }, stdio: ["ignore", "pipe", "pipe"] });
      children.push(child);
      const ports = await new Promise<[number, number]>((resolve, reject) => {
        let out = "";
        const timer = setTimeout(() => reject(new Error(`broker child did not start: ${out.slice(-2000)}`)), 20_000);
        child.stdout!.on("data", (d: Buffer) => {
          out += d.toString();
          const m = /"port":(\d+),"metricsPort":(\d+).*"broker ready"/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve([Number(m[1]), Number(m[2])]);
          }
        });
        child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
        child.on("exit", (code) => reject(new Error(`broker child exited (${code}): ${out.slice(-2000)}`)));
      });
      child.stdout!.resume();
      return { child, port: ports[0], metricsPort: ports[1] };
    },

    /** The metrics port of the first in-process broker. */
    async brokerMetricsPort(): Promise<number> {
      return brokers[0].metricsPort;
    },

    /** A BrokerService client for a broker's port. */
    client(port = brokers[0]?.port) {
      const pool = channelPool(`127.0.0.1:${port}`, 2);
      pools.push(pool);
      return withDefaults(BrokerServiceService, promiseClient(BrokerServiceService, pool, { deadlineMs: 15_000, retries: 0 }));
    },

    /** A user with a project and `nodes` nodes in it. */
    async seed(nodes = 3): Promise<{ user: TestUser; projectId: string; nodeIds: string[] }> {
      const user = await store.register("author");
      const { project } = await store.clients.projects.createProject({ name: "Broker test" }, { token: user.token });
      const nodeIds: string[] = [];
      for (let i = 0; i < nodes; i++) {
        const { node } = await store.clients.nodes.createNode({ projectId: project!.id, title: `Node ${i}`, content: `Content of node ${i} about launch planning` }, { token: user.token });
        nodeIds.push(node!.id);
      }
      return { user, projectId: project!.id, nodeIds };
    },

    async admin(): Promise<TestUser> {
      const u = await store.register("admin");
      // Admins are a role in the database (what `make admin EMAIL=...` sets).
      await store.db.updateTable("users").set({ role: "admin" }).where("id", "=", u.id).execute();
      return u;
    },

    async task(id: string): Promise<Task> {
      const { task } = await store.clients.tasks.getTask({ id }, { token: await this.ownerToken(id) });
      return task!;
    },

    /** A token of the task's creator (reads go through tenancy like any user's). */
    async ownerToken(taskId: string): Promise<string> {
      const row = await store.db.selectFrom("tasks").select(["created_by"]).where("id", "=", taskId).executeTakeFirstOrThrow();
      const user = await store.db.selectFrom("users").select(["id", "email", "username"]).where("id", "=", row.created_by).executeTakeFirstOrThrow();
      return store.tokens.signAccess({ id: user.id, email: user.email, username: user.username }, 600);
    },

    async status(id: string): Promise<string> {
      const row = await store.db.selectFrom("tasks").select(["status"]).where("id", "=", id).executeTakeFirstOrThrow();
      return row.status;
    },

    async waitForStatus(id: string, want: string | string[], timeoutMs = 20_000): Promise<string> {
      const wanted = Array.isArray(want) ? want : [want];
      const end = Date.now() + timeoutMs;
      for (;;) {
        const s = await h.status(id);
        if (wanted.includes(s)) return s;
        if (Date.now() > end) throw new Error(`task ${id} is ${s}, wanted ${wanted.join("|")}`);
        await sleep(50);
      }
    },

    /** Waits until no task of the ids is queued or running; answers the count per status. */
    async waitAllFinished(ids: string[], timeoutMs: number): Promise<Record<string, number>> {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const rows = await store.db.selectFrom("tasks").select(["status", sql<number>`count(*)::int`.as("n")]).where("id", "in", ids).groupBy("status").execute();
        const counts = Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
        if (!counts.queued && !counts.running) return counts;
        if (Date.now() > end) throw new Error(`tasks not finished in time: ${JSON.stringify(counts)}`);
        await sleep(200);
      }
    },

    /** Node versions written by each task (exactly-once: one per completed task). */
    async versionsPerTask(ids: string[]): Promise<Map<string, number>> {
      const rows = await store.db
        .selectFrom("node_versions")
        .select(["task_id", sql<number>`count(*)::int`.as("n")])
        .where("task_id", "in", ids)
        .groupBy("task_id")
        .execute();
      return new Map(rows.map((r) => [r.task_id!, Number(r.n)]));
    },

    /** The project's events as the bus carries them (task.progress among them). */
    async watch(projectId: string): Promise<{ events: BusEvent[]; sub: EventSubscription }> {
      const events: BusEvent[] = [];
      const sub = await bus.subscribe((e) => events.push(e));
      await sub.watch(projectId);
      return { events, sub };
    },

    async shutdown(): Promise<void> {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
      await Promise.allSettled(brokers.map((b) => b.shutdown()));
      for (const p of pools) p.close();
      await bus.close().catch(() => undefined);
      await store.shutdown();
      await deleteTopology(prefix, RETRY_BASE_MS, RETRY_MAX_MS, [exchange]);
    },
  };
  return h;
}

export type Harness = Awaited<ReturnType<typeof startHarness>>;

export const typeName = (t: TaskType) => fromProtoEnum<string>(t, "TASK_TYPE_");

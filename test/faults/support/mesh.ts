// The fault suite's system: `make up` as separate processes (1 store, 2 brokers, 2 gateways) on
// the real PostgreSQL, Redis and RabbitMQ, every replica on a free port it binds itself
// (SKER_PORTS_FILE), with names of its own (database, key prefix, exchange, queue prefix).
// Faults never touch the shared servers: PostgreSQL (the store's connections; the drills' own
// checks go straight to it), Redis and RabbitMQ are reached through TCP proxies a drill cuts and
// restores (RabbitMQ through one per role, so store, brokers and gateways can come back in any
// order), and the store and brokers through front proxies that keep their
// address when a drill kills one and starts it again on a new port.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import pg from "pg";
import { deleteTopology } from "@sker/testkit/rabbit";
import { tcpProxy, type TcpProxy } from "@sker/testkit/tcp-proxy";

const ROOT = resolve(import.meta.dirname, "../../..");
const PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres";
const ENTRY = { store: "services/store/dist/main.js", broker: "services/broker/dist/main.js", gateway: "services/gateway/dist/main.js" };

export type Name = "store" | "broker-0" | "broker-1" | "gateway-0" | "gateway-1";
const kindOf = (n: Name) => n.split("-")[0] as keyof typeof ENTRY;

export interface Mesh {
  id: string;
  /** Every gRPC call's deadline (GRPC_DEADLINE_MS): no request should wait longer for an answer. */
  deadlineMs: number;
  db: pg.Pool;
  /** The gateways' URLs (a restarted one has a new port). */
  readonly gateways: string[];
  proxies: { pg: TcpProxy; redis: TcpProxy; mqStore: TcpProxy; mqBrokers: TcpProxy; mqGateways: TcpProxy };
  /** The process's pid while it runs. */
  pid(name: Name): number | undefined;
  kill(name: Name, signal: NodeJS.Signals): Promise<number | null>;
  /** Starts it (again) and waits until it listens; answers the ms it took. */
  start(name: Name): Promise<number>;
  logs(name: Name): string;
  close(): Promise<void>;
}

export async function startMesh(env: Record<string, string> = {}): Promise<Mesh> {
  const id = randomBytes(4).toString("hex");
  const dir = mkdtempSync(join(tmpdir(), "sker-faults-"));
  const dbName = `faults_${id}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  await admin.end();
  const databaseUrl = `postgres://postgres@127.0.0.1:5432/${dbName}`;
  const proxies = { pg: await tcpProxy(5432), redis: await tcpProxy(6379), mqStore: await tcpProxy(5672), mqBrokers: await tcpProxy(5672), mqGateways: await tcpProxy(5672) };
  const fronts = { store: await tcpProxy(1), "broker-0": await tcpProxy(1), "broker-1": await tcpProxy(1) } as Record<string, TcpProxy>;
  const mq = (p: TcpProxy) => `amqp://guest:guest@127.0.0.1:${p.port}`;
  const common: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    JWT_SECRET: `faults-${id}-0123456789abcdef0123456789abcdef`,
    SKER_DATA_DIR: dir,
    DATABASE_URL: `postgres://postgres@127.0.0.1:${proxies.pg.port}/${dbName}`,
    REDIS_URL: `redis://127.0.0.1:${proxies.redis.port}`,
    REDIS_KEY_PREFIX: `faults:${id}:`,
    SKER_EVENTS_EXCHANGE: `faults.${id}.events`,
    SKER_QUEUE_PREFIX: `faults.${id}`,
    STORE_ADDR: `127.0.0.1:${fronts.store.port}`,
    BROKER_ADDR: `ipv4:127.0.0.1:${fronts["broker-0"].port},127.0.0.1:${fronts["broker-1"].port}`,
    STORE_PORT: "0",
    BROKER_PORT: "0",
    GATEWAY_PORT: "0",
    GATEWAY_HOST: "127.0.0.1",
    METRICS_PORT: "0",
    LOG_LEVEL: "warn",
    SCRYPT_COST: "1024",
    LOCAL_AI_TOKEN_DELAY_MS: "5",
    BROKER_CONCURRENCY: "64",
    // Generous deadlines and leases: the drills are about faults, and the machine they run on
    // may be loaded by others (a lease that lapses under load costs an attempt).
    GRPC_DEADLINE_MS: "15000",
    BROKER_LEASE_MS: "10000",
    AI_TASK_MAX_ATTEMPTS: "5",
    BROKER_REAPER_INTERVAL_MS: "1000",
    SHUTDOWN_TIMEOUT_MS: "8000",
    SHUTDOWN_DRAIN_DELAY_MS: "1000",
    RATE_LIMIT_PER_USER: "1000000",
    RATE_LIMIT_AUTH_PER_IP: "1000000",
    RATE_LIMIT_AI_PER_USER: "1000000",
    RATE_LIMIT_BAD_AUTH_PER_IP: "1000000",
    WS_SEQ_CHECK_MS: "2000",
    ...env,
  };
  const roleEnv = (n: Name) => ({
    ...common,
    // A gateway's balancer (here the drill's client; in Kubernetes the endpoints) needs time to
    // see /ready turn 503 on a loaded machine before the listener closes: with 3 s, a probe
    // round took longer than that at a load of 33 on 2 cores (5 requests sent after the close).
    ...(n.startsWith("gateway") ? { SHUTDOWN_DRAIN_DELAY_MS: env.SHUTDOWN_DRAIN_DELAY_MS ?? "6000" } : {}),
    RABBITMQ_URL: mq(n === "store" ? proxies.mqStore : n.startsWith("broker") ? proxies.mqBrokers : proxies.mqGateways),
    SKER_PORTS_FILE: join(dir, `${n}.ports.json`),
  });
  const children = new Map<Name, ChildProcess>();
  const gatewayPorts: number[] = [];

  const start = async (n: Name): Promise<number> => {
    const t0 = Date.now();
    const portsFile = join(dir, `${n}.ports.json`);
    rmSync(portsFile, { force: true });
    const log = openSync(join(dir, `${n}.log`), "a");
    const child = spawn(process.execPath, [join(ROOT, ENTRY[kindOf(n)])], { cwd: ROOT, env: roleEnv(n), stdio: ["ignore", log, log] });
    children.set(n, child);
    while (!existsSync(portsFile)) {
      if (child.exitCode !== null) throw new Error(`${n} exited (${child.exitCode}):\n${logsOf(n)}`);
      // Generous: at a load of 40 on 2 cores a gateway took over a minute to reach RabbitMQ.
      if (Date.now() - t0 > 180_000) throw new Error(`${n} did not listen in 180 s:\n${logsOf(n)}`);
      await sleep(50);
    }
    const { port } = JSON.parse(readFileSync(portsFile, "utf8")) as { port: number };
    if (n.startsWith("gateway")) gatewayPorts[Number(n.slice(-1))] = port;
    else fronts[n].retarget(port);
    return Date.now() - t0;
  };
  const logsOf = (n: Name) => {
    try {
      return readFileSync(join(dir, `${n}.log`), "utf8").slice(-4000);
    } catch {
      return "";
    }
  };

  const gateways = () => gatewayPorts.map((p) => `http://127.0.0.1:${p}`);
  try {
    await start("store");
    await Promise.all([start("broker-0"), start("broker-1")]);
    await Promise.all([start("gateway-0"), start("gateway-1")]);
    for (const g of gateways()) {
      const until = Date.now() + 120_000;
      while (!(await fetch(`${g}/ready`).then((r) => r.ok, () => false))) {
        if (Date.now() > until) throw new Error(`gateway ${g} not ready`);
        await sleep(100);
      }
    }
  } catch (err) {
    // No one holds this mesh yet: left running its processes would outlive the test run.
    for (const child of children.values()) child.kill("SIGKILL");
    for (const p of [...Object.values(proxies), ...Object.values(fronts)]) await p.close();
    const a = new pg.Client({ connectionString: PG_ADMIN });
    await a.connect();
    await a.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await a.end();
    throw err;
  }
  const db = new pg.Pool({ connectionString: databaseUrl, max: 3 });
  // The drills' own checks wait for a connection slot when the machine's PostgreSQL, shared by
  // every test running here, has none left for a moment ("too many clients already").
  const query = db.query.bind(db) as (...args: unknown[]) => Promise<unknown>;
  (db as { query: unknown }).query = async (...args: unknown[]) => {
    for (let tries = 1; ; tries++) {
      try {
        return await query(...args);
      } catch (err) {
        if ((err as { code?: string }).code !== "53300" || tries >= 60) throw err;
        await sleep(500);
      }
    }
  };

  return {
    id,
    deadlineMs: Number(common.GRPC_DEADLINE_MS),
    db,
    get gateways() {
      return gateways();
    },
    proxies,
    pid: (n) => children.get(n)?.pid,
    async kill(n, signal) {
      const child = children.get(n);
      if (!child || child.exitCode !== null) return child?.exitCode ?? null;
      const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
      child.kill(signal);
      return exited;
    },
    start,
    logs: logsOf,
    async close() {
      await Promise.all([...children.keys()].map((n) => this.kill(n, "SIGTERM")));
      await db.end();
      for (const p of [...Object.values(proxies), ...Object.values(fronts)]) await p.close();
      const a = new pg.Client({ connectionString: PG_ADMIN });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await a.end();
      const redis = new Redis("redis://127.0.0.1:6379");
      const keys = await redis.keys(`faults:${id}:*`);
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
      // The broker's default retry steps (1 s … 60 s) name its delay queues.
      await deleteTopology(`faults.${id}`, 1_000, 60_000, [`faults.${id}.events`]).catch(() => undefined);
      // FAULTS_KEEP_LOGS=1 keeps every process's log for a look after a failed drill.
      if (process.env.FAULTS_KEEP_LOGS === "1") console.log(`[fault drill] logs kept in ${dir}`);
      else rmSync(dir, { recursive: true, force: true });
    },
  };
}

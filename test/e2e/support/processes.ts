// Runs SKER mesh the two ways a user does, as real child processes on free ports:
// all-in-one (`make run`: embedded PGlite, in-memory cache, in-process queue) and separate
// processes (`make up`: store, broker, gateway against the real PostgreSQL, Redis, RabbitMQ).
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pg from "pg";

const ROOT = resolve(import.meta.dirname, "../../..");
const PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres";

export type Mode = "all-in-one" | "separate";

export interface Mesh {
  mode: Mode;
  url: string;
  storeAddr: string;
  brokerAddr: string;
  /** PostgreSQL of the separate mode. */
  databaseUrl?: string;
  /** The ports a process announced (SKER_PORTS_FILE): its gRPC or HTTP port, and metricsPort. */
  ports(name: "store" | "broker" | "gateway"): { port: number; metricsPort?: number };
  /** SIGTERM every process; answers their exit codes. */
  stop(): Promise<number[]>;
  logs(): string;
}

/**
 * A port free at this moment. Only for programs that cannot bind port 0 and say which port they
 * got: someone else may take it before the caller binds it (retry on EADDRINUSE).
 */
export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
  });
}

/** The ports a child wrote to SKER_PORTS_FILE once it listens (it bound port 0 itself). */
async function announcedPorts(file: string, child: ChildProcess, until: number, logs: () => string): Promise<Record<string, number>> {
  while (!existsSync(file)) {
    if (child.exitCode !== null || Date.now() > until) {
      child.kill("SIGKILL");
      throw new Error(`${file} never written (exit ${child.exitCode})\n${logs()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return JSON.parse(readFileSync(file, "utf8")) as Record<string, number>;
}

export async function startMesh(mode: Mode, extraEnv: Record<string, string> = {}): Promise<Mesh> {
  const id = randomBytes(5).toString("hex");
  const dataDir = mkdtempSync(join(tmpdir(), "sker-e2e-"));
  // Every process binds port 0 and announces what it got: no port is picked here and bound later
  // (by then another test running in parallel may hold it).
  const base: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    SKER_DATA_DIR: dataDir,
    GATEWAY_PORT: "0",
    STORE_PORT: "0",
    BROKER_PORT: "0",
    METRICS_PORT: "0",
    LOG_LEVEL: "warn",
    LOCAL_AI_TOKEN_DELAY_MS: "5",
    SCRYPT_COST: "1024",
    SHUTDOWN_TIMEOUT_MS: "5000",
    SHUTDOWN_DRAIN_DELAY_MS: "100",
    ...extraEnv,
  };
  let dbName: string | undefined;
  if (mode === "separate") {
    dbName = `e2e_${id}`;
    const admin = new pg.Client({ connectionString: PG_ADMIN });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${dbName}`);
    await admin.end();
    Object.assign(base, {
      DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${dbName}`,
      REDIS_URL: "redis://127.0.0.1:6379",
      REDIS_KEY_PREFIX: `e2e:${id}:`,
      RABBITMQ_URL: "amqp://guest:guest@127.0.0.1:5672",
      SKER_EVENTS_EXCHANGE: `e2e.${id}.events`,
      SKER_QUEUE_PREFIX: `e2e.${id}`,
    });
  }
  const children: { name: string; proc: ChildProcess; out: string[] }[] = [];
  const logs = () => children.map((c) => `--- ${c.name}\n${c.out.join("").slice(-4000)}`).join("\n");
  // Generous: a fresh PGlite data dir takes a minute or more to create on this shared, loaded
  // machine (90 s seen with eight test runs beside it).
  const until = Date.now() + 180_000;
  const spawnService = async (name: string, entry: string, env: Record<string, string> = {}) => {
    const out: string[] = [];
    const portsFile = join(dataDir, `${name}.ports.json`);
    const proc = spawn(process.execPath, [join(ROOT, entry)], { cwd: ROOT, env: { ...base, ...env, SKER_PORTS_FILE: portsFile }, stdio: ["ignore", "pipe", "pipe"] });
    proc.stdout!.on("data", (d) => out.push(String(d)));
    proc.stderr!.on("data", (d) => out.push(String(d)));
    children.push({ name, proc, out });
    try {
      return await announcedPorts(portsFile, proc, until, logs);
    } catch (err) {
      // Nobody else holds these processes yet: left running they would outlive the test run.
      for (const c of children) c.proc.kill("SIGKILL");
      throw err;
    }
  };

  let storeAddr: string, brokerAddr: string, gatewayPort: number;
  if (mode === "all-in-one") {
    const ports = await spawnService("allinone", "services/allinone/dist/main.js");
    [storeAddr, brokerAddr, gatewayPort] = [`127.0.0.1:${ports.storePort}`, `127.0.0.1:${ports.brokerPort}`, ports.port];
  } else {
    storeAddr = `127.0.0.1:${(await spawnService("store", "services/store/dist/main.js")).port}`;
    brokerAddr = `127.0.0.1:${(await spawnService("broker", "services/broker/dist/main.js", { STORE_ADDR: storeAddr })).port}`;
    gatewayPort = (await spawnService("gateway", "services/gateway/dist/main.js", { STORE_ADDR: storeAddr, BROKER_ADDR: brokerAddr })).port;
  }
  const url = `http://127.0.0.1:${gatewayPort}`;
  for (;;) {
    const ready = await fetch(`${url}/ready`).then((r) => r.ok, () => false);
    if (ready) break;
    const dead = children.find((c) => c.proc.exitCode !== null);
    if (dead || Date.now() > until) {
      for (const c of children) c.proc.kill("SIGKILL");
      throw new Error(`mesh (${mode}) did not become ready\n${logs()}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }

  return {
    mode,
    url,
    storeAddr,
    brokerAddr,
    databaseUrl: base.DATABASE_URL,
    ports: (name) => JSON.parse(readFileSync(join(dataDir, `${name}.ports.json`), "utf8")) as { port: number; metricsPort?: number },
    logs,
    async stop() {
      // Gateway first, store last: the order of the request path.
      const codes = [];
      for (const c of [...children].reverse()) {
        const exited = new Promise<number>((ok) => (c.proc.exitCode !== null ? ok(c.proc.exitCode) : c.proc.once("exit", (code) => ok(code ?? -1))));
        c.proc.kill("SIGTERM");
        codes.push(await exited);
      }
      if (dbName) {
        const admin = new pg.Client({ connectionString: PG_ADMIN });
        await admin.connect();
        await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
        await admin.end();
      }
      rmSync(dataDir, { recursive: true, force: true });
      return codes;
    },
  };
}

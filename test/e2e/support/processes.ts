// Runs SKER mesh the two ways a user does, as real child processes on free ports:
// all-in-one (`make run`: embedded PGlite, in-memory cache, in-process queue) and separate
// processes (`make up`: store, broker, gateway against the real PostgreSQL, Redis, RabbitMQ).
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
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

export async function startMesh(mode: Mode, extraEnv: Record<string, string> = {}): Promise<Mesh> {
  const id = randomBytes(5).toString("hex");
  const dataDir = mkdtempSync(join(tmpdir(), "sker-e2e-"));
  const [gatewayPort, storePort, brokerPort] = [await freePort(), await freePort(), await freePort()];
  const base: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    SKER_DATA_DIR: dataDir,
    GATEWAY_PORT: String(gatewayPort),
    STORE_PORT: String(storePort),
    BROKER_PORT: String(brokerPort),
    METRICS_PORT: "0",
    STORE_ADDR: `127.0.0.1:${storePort}`,
    BROKER_ADDR: `127.0.0.1:${brokerPort}`,
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
  const spawnService = (name: string, entry: string) => {
    const out: string[] = [];
    const env = { ...base, SKER_PORTS_FILE: join(dataDir, `${name}.ports.json`) };
    const proc = spawn(process.execPath, [join(ROOT, entry)], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    proc.stdout!.on("data", (d) => out.push(String(d)));
    proc.stderr!.on("data", (d) => out.push(String(d)));
    children.push({ name, proc, out });
  };
  const logs = () => children.map((c) => `--- ${c.name}\n${c.out.join("").slice(-4000)}`).join("\n");

  if (mode === "all-in-one") spawnService("allinone", "services/allinone/dist/main.js");
  else {
    spawnService("store", "services/store/dist/main.js");
    spawnService("broker", "services/broker/dist/main.js");
    spawnService("gateway", "services/gateway/dist/main.js");
  }
  const url = `http://127.0.0.1:${gatewayPort}`;
  // Generous: a fresh PGlite data dir takes a minute to create on this shared, loaded machine.
  const until = Date.now() + 120_000;
  for (;;) {
    const ready = await fetch(`${url}/ready`).then((r) => r.ok, () => false);
    if (ready) break;
    const dead = children.find((c) => c.proc.exitCode !== null);
    if (dead || Date.now() > until) {
      // Nobody else holds these processes yet: left running they would outlive the test run.
      for (const c of children) c.proc.kill("SIGKILL");
      throw new Error(`mesh (${mode}) did not become ready\n${logs()}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }

  return {
    mode,
    url,
    storeAddr: `127.0.0.1:${storePort}`,
    brokerAddr: `127.0.0.1:${brokerPort}`,
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

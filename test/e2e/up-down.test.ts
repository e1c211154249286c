// `make up` / `make down`: separate processes with replicas, and nothing left behind.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, expect, it } from "vitest";
import { client, register } from "@sker/testkit/http";

const ROOT = resolve(import.meta.dirname, "../..");
const run = promisify(execFile);
const id = randomBytes(4).toString("hex");
const runDir = mkdtempSync(join(tmpdir(), "sker-up-"));
const dbName = `up_${id}`;

afterAll(async () => {
  await run("bash", ["scripts/down.sh"], { cwd: ROOT, env: { ...process.env, SKER_RUN_DIR: runDir } }).catch(() => undefined);
  const admin = new pg.Client({ connectionString: "postgres://postgres@127.0.0.1:5432/postgres" });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.end();
  rmSync(runDir, { recursive: true, force: true });
}, 60_000);

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

it("make up runs 1 store, 2 brokers and 2 gateways; make down stops exactly those", async () => {
  // Base port 0: every replica binds a free port itself and announces it in the run dir's ports/
  // (a port picked free here and bound later by up.sh could be taken in between by another test).
  const env = {
    ...process.env,
    SKER_RUN_DIR: runDir,
    SKER_DATA_DIR: runDir,
    DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${dbName}`,
    REDIS_KEY_PREFIX: `up:${id}:`,
    SKER_EVENTS_EXCHANGE: `up.${id}.events`,
    SKER_QUEUE_PREFIX: `up.${id}`,
    GATEWAY_PORT: "0",
    STORE_PORT: "0",
    BROKER_PORT: "0",
    STORE_METRICS_PORT: "0",
    BROKER_METRICS_PORT: "0",
    GATEWAY_REPLICAS: "2",
    BROKER_REPLICAS: "2",
    SCRYPT_COST: "1024",
    LOG_LEVEL: "warn",
  };
  const up = await run("bash", ["scripts/up.sh"], { cwd: ROOT, env });
  expect(up.stdout).toContain("up: ready");
  const pids = readFileSync(join(runDir, "pids"), "utf8").trim().split("\n").map((l) => l.split(" "));
  expect(pids.map(([, name]) => name).sort()).toEqual(["broker-0", "broker-1", "gateway-0", "gateway-1", "store"]);
  expect(pids.every(([pid]) => alive(Number(pid)))).toBe(true);

  const port = (name: string) => (JSON.parse(readFileSync(join(runDir, "ports", `${name}.json`), "utf8")) as { port: number }).port;
  const ports = ["gateway-0", "gateway-1", "store", "broker-0", "broker-1"].map(port);
  expect(new Set(ports).size).toBe(5);
  // Both gateways serve the same system: a user registered on one logs in on the other.
  const g0 = client(`http://127.0.0.1:${ports[0]}`);
  const g1 = client(`http://127.0.0.1:${ports[1]}`);
  const user = await register(g0, "updown");
  const login = await g1("POST", "/api/v1/auth/login", { body: { email: user.user.email, password: user.password } });
  expect(login.status).toBe(200);

  const down = await run("bash", ["scripts/down.sh"], { cwd: ROOT, env });
  expect(down.stdout).toContain("down: stopped");
  expect(down.stdout).not.toContain("killed");
  expect(pids.filter(([pid]) => alive(Number(pid)))).toEqual([]);
  await expect(fetch(`http://127.0.0.1:${ports[0]}/health`)).rejects.toThrow();
}, 120_000);

// `make bench` (footprint): what each `make up` process holds and what a request costs the
// gateway. Its own `make up` (private names, any free ports, the V8 flags of scripts/up.sh):
// each process's RSS 20 s after it is ready and again after 60 s of quiet, beside a bare Node
// process started with the same flags (the runtime's own share); then GET /api/v1/nodes/:id with
// 50 connections for BENCH_SECONDS: req/s beside Fastify answering the same JSON from memory,
// the gateway's CPU per request (from /proc), each process's RSS peak during the run, and 30 s
// after it. Writes bench-results/footprint.json for bench/summary.mjs.
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import autocannon from "autocannon";
import Fastify from "fastify";
import { client, register } from "@sker/testkit/http";
import { sh } from "./shell.js";

const DURATION = Number(process.env.BENCH_SECONDS ?? 5);
const RUN_DIR = ".run/footprint";
const DB = "sker_footprint";

type Row = { name: string; value: number; unit: string; baseline?: string; baselineValue?: number; ratio?: number };
const rows: Row[] = [];

const stackEnv = {
  SKER_RUN_DIR: RUN_DIR,
  DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${DB}`,
  REDIS_KEY_PREFIX: "footprint:",
  SKER_EVENTS_EXCHANGE: "footprint.events",
  SKER_QUEUE_PREFIX: "footprint",
  GATEWAY_PORT: "0",
  STORE_PORT: "0",
  BROKER_PORT: "0",
  STORE_METRICS_PORT: "0",
  BROKER_METRICS_PORT: "0",
  SKER_DATA_DIR: RUN_DIR,
  RATE_LIMIT_PER_USER: "1000000000",
  SCRYPT_COST: "1024",
  LOG_LEVEL: "warn",
};

/** The V8 flags scripts/up.sh starts every service with. */
const nodeFlags = /^NODE_FLAGS=\((.*)\)$/m.exec(readFileSync("scripts/up.sh", "utf8"))?.[1].split(/\s+/) ?? [];

const processes = () =>
  readFileSync(`${RUN_DIR}/pids`, "utf8")
    .trim()
    .split("\n")
    .map((l) => l.split(" "))
    .map(([pid, name]) => ({ pid, name: name.replace(/-0$/, "") }));
const rssOf = (pid: string) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? NaN) / 1024;
/** User + system CPU of a process, in ms. */
const cpuOf = (pid: string) => {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) * 10;
};

async function main() {
  sh(`psql postgres://postgres@127.0.0.1:5432/postgres -qc "DROP DATABASE IF EXISTS ${DB} WITH (FORCE)" >/dev/null`);
  // The runtime's own share: an idle Node with the same flags, alive beside the services.
  const bare = spawn(process.execPath, [...nodeFlags, "-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
  sh("bash scripts/up.sh >/dev/null", stackEnv);
  try {
    const url = `http://127.0.0.1:${JSON.parse(readFileSync(`${RUN_DIR}/ports/gateway-0.json`, "utf8")).port}`;
    const procs = processes();
    const idle = async (label: string) => {
      const base = rssOf(String(bare.pid));
      for (const p of procs) {
        const v = rssOf(p.pid);
        rows.push({ name: `RSS ${p.name} ${label}`, value: v, unit: "MiB", baseline: "bare node", baselineValue: base, ratio: v / base });
        console.log(`  RSS ${p.name} ${label}: ${v.toFixed(1)} MiB (bare node ${base.toFixed(1)})`);
      }
    };
    await sleep(20_000);
    await idle("20 s after ready");
    await sleep(40_000);
    await idle("after 60 s idle");

    const req = client(url);
    const user = await register(req, "footprint");
    const project = (await req("POST", "/api/v1/projects", { token: user.accessToken, body: { name: "footprint" } })).body.data.id as string;
    const node = (await req("POST", "/api/v1/nodes", { token: user.accessToken, body: { projectId: project, title: "bench node", content: "x".repeat(300), tags: ["a", "b"] } })).body.data;
    const nodeJson = (await req("GET", `/api/v1/nodes/${node.id}`, { token: user.accessToken })).body;
    const mem = Fastify();
    mem.get("/node", async () => nodeJson);
    await mem.listen({ port: 0, host: "127.0.0.1" });
    const memUrl = `http://127.0.0.1:${(mem.server.address() as { port: number }).port}`;

    const peak: Record<string, number> = {};
    const watch = setInterval(() => {
      for (const p of procs) peak[p.name] = Math.max(peak[p.name] ?? 0, rssOf(p.pid));
    }, 100);
    const gateway = procs.find((p) => p.name === "gateway")!;
    const cpu0 = cpuOf(gateway.pid);
    const gw = await autocannon({ url: `${url}/api/v1/nodes/${node.id}`, connections: 50, duration: DURATION, headers: { authorization: `Bearer ${user.accessToken}` } });
    const cpuMs = (cpuOf(gateway.pid) - cpu0) / gw.requests.total;
    clearInterval(watch);
    const base = await autocannon({ url: `${memUrl}/node`, connections: 50, duration: DURATION });
    await mem.close();
    if (gw.non2xx + gw.errors > 0) console.warn(`  gateway: ${gw.non2xx + gw.errors} non-2xx/errors of ${gw.requests.total}`);
    console.log(`  GET /nodes/:id: ${Math.round(gw.requests.average)} req/s (from memory ${Math.round(base.requests.average)}), gateway ${cpuMs.toFixed(3)} ms CPU per request`);
    rows.push({ name: "GET /nodes/:id (gateway) req/s", value: gw.requests.average, unit: "req/s", baseline: "fastify from memory", baselineValue: base.requests.average, ratio: gw.requests.average / base.requests.average });
    rows.push({ name: "gateway CPU per GET /nodes/:id", value: cpuMs, unit: "ms" });
    const after = Object.fromEntries(procs.map((p) => [p.name, rssOf(p.pid)]));
    await sleep(30_000);
    for (const p of procs) {
      console.log(`  RSS ${p.name}: peak under load ${peak[p.name].toFixed(1)} MiB, 30 s after ${rssOf(p.pid).toFixed(1)} MiB`);
      rows.push({ name: `RSS ${p.name} peak under load`, value: peak[p.name], unit: "MiB", baseline: "20 s after ready", baselineValue: rows.find((r) => r.name === `RSS ${p.name} 20 s after ready`)!.value, ratio: peak[p.name] / rows.find((r) => r.name === `RSS ${p.name} 20 s after ready`)!.value });
      rows.push({ name: `RSS ${p.name} 30 s after load`, value: rssOf(p.pid), unit: "MiB", baseline: "at the end of the load", baselineValue: after[p.name], ratio: rssOf(p.pid) / after[p.name] });
    }
  } finally {
    bare.kill();
    sh("bash scripts/down.sh >/dev/null", { SKER_RUN_DIR: RUN_DIR });
  }
  mkdirSync("bench-results", { recursive: true });
  writeFileSync("bench-results/footprint.json", JSON.stringify(rows, null, 2));
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

// A real Prometheus scrapes `make up`'s services (scripts/up.sh, free ports) through a short
// load, evaluating the shipped rules. Every PromQL expression of the rules and dashboards must
// parse, and every metric, label and exact label value it names must exist in what the services
// export: no panel or alert reads a metric that does not exist. Dashboard queries return data.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, register } from "@sker/testkit/http";
import { WsClient } from "@sker/testkit/ws";
import { dashboards, panelQueries, rules, selectors } from "./lib.js";
import { startPrometheus, type Prometheus } from "./prometheus.js";

const ROOT = resolve(import.meta.dirname, "../..");
const run = promisify(execFile);
const id = randomBytes(4).toString("hex");
const runDir = mkdtempSync(join(tmpdir(), "sker-scrape-"));
const dbName = `scrape_${id}`;
let prom: Prometheus;
let metricNames: string[] = [];

async function load(gateway: string) {
  const req = client(gateway);
  const alice = await register(req, "scrape");
  const token = alice.accessToken;
  const projectId = (await req("POST", "/api/v1/projects", { token, body: { name: "Scraped" } })).body.data.id;
  const ws = await WsClient.open(gateway, token);
  try {
    ws.send({ type: "subscribe", projectId, since: 0 });
    await ws.next((f) => f.type === "subscribed");
    // Two rounds a few scrapes apart: a counter's first sample already holds its first
    // increments, so a rate needs the second round to see them grow.
    for (let round = 0; round < 2; round++) {
      if (round) await new Promise((r) => setTimeout(r, 3_000));
      const node = (await req("POST", "/api/v1/nodes", { token, body: { projectId, title: `Habitat ${round}`, content: "Domes" } })).body.data;
      for (let i = 0; i < 5; i++) await req("GET", `/api/v1/nodes/${node.id}`, { token });
      // Callers' mistakes: a 401 and a 404 (NOT_FOUND from the store).
      await req("GET", "/api/v1/projects");
      await req("GET", "/api/v1/projects/00000000-0000-4000-8000-000000000000", { token });
      const task = (await req("POST", "/api/v1/ai-tasks", { token, body: { projectId, type: "generate", prompt: "A greenhouse", sourceNodeIds: [node.id] } })).body.data;
      await ws.next((f) => f.type === "event" && f.name === "task.completed" && f.data.id === task.id, 60_000);
    }
  } finally {
    ws.close();
  }
}

beforeAll(async () => {
  // The default model's provider is unreachable, so every task falls back to the local one:
  // the fallback, circuit and cost metrics exist as they do in production.
  const models = join(runDir, "models.json");
  writeFileSync(
    models,
    JSON.stringify({
      default: "flaky",
      providers: { down: { type: "openai", baseUrl: "http://127.0.0.1:9/v1" }, local: { type: "local" } },
      models: [
        { alias: "flaky", provider: "down", model: "gone-1", contextWindow: 8000, price: { input: 1, output: 2 }, fallbacks: ["local"] },
        { alias: "local", provider: "local", model: "local-deterministic-1", contextWindow: 8000 },
      ],
    }),
  );
  const env = {
    ...process.env,
    SKER_RUN_DIR: runDir,
    SKER_DATA_DIR: runDir,
    DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${dbName}`,
    REDIS_KEY_PREFIX: `scrape:${id}:`,
    SKER_EVENTS_EXCHANGE: `scrape.${id}.events`,
    SKER_QUEUE_PREFIX: `scrape.${id}`,
    GATEWAY_PORT: "0",
    STORE_PORT: "0",
    BROKER_PORT: "0",
    STORE_METRICS_PORT: "0",
    BROKER_METRICS_PORT: "0",
    LOCAL_AI_TOKEN_DELAY_MS: "5",
    AI_MODELS_FILE: models,
    SCRYPT_COST: "1024",
    LOG_LEVEL: "warn",
  };
  // One replica of each, every one on a port it bound itself (0) and announced in its ports file.
  await run("bash", ["scripts/up.sh"], { cwd: ROOT, env });
  const announced = (name: string) => JSON.parse(readFileSync(join(runDir, "ports", `${name}.json`), "utf8")) as { port: number; metricsPort?: number };
  const gatewayPort = announced("gateway-0").port;
  const storeMetrics = announced("store").metricsPort;
  const brokerMetrics = announced("broker-0").metricsPort;
  prom = await startPrometheus([
    { service: "gateway", address: `127.0.0.1:${gatewayPort}` },
    { service: "store", address: `127.0.0.1:${storeMetrics}` },
    { service: "broker", address: `127.0.0.1:${brokerMetrics}` },
  ]);
  // Prometheus hands static targets to its scrapers up to 5 s after start (discovery updates are
  // batched): the load must come after the first scrape, or a counter's first sample already
  // holds all of it and no rate ever shows.
  const scraping = Date.now() + 30_000;
  while ((await prom.query("up")).series.length < 3) {
    if (Date.now() > scraping) throw new Error(`targets never scraped\n${prom.logs()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  await load(`http://127.0.0.1:${gatewayPort}`);
  // Until a scrape after the load has been stored (tokens are counted at the task's end).
  const until = Date.now() + 60_000;
  while ((await prom.query('rate(broker_tokens_total{direction="output"}[5m]) > 0')).series.length === 0) {
    if (Date.now() > until) throw new Error(`no tokens scraped\n${prom.logs()}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  metricNames = ((await (await fetch(`${prom.url}/api/v1/label/__name__/values`)).json()) as { data: string[] }).data;
}, 240_000);

afterAll(async () => {
  await prom?.stop();
  await run("bash", ["scripts/down.sh"], { cwd: ROOT, env: { ...process.env, SKER_RUN_DIR: runDir } }).catch(() => undefined);
  const admin = new pg.Client({ connectionString: "postgres://postgres@127.0.0.1:5432/postgres" });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.end();
  rmSync(runDir, { recursive: true, force: true });
}, 60_000);

const MATCHER = /([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g;

/** What an expression names that the scraped services do not export; [] when all exists. */
async function missing(expr: string): Promise<string[]> {
  const problems: string[] = [];
  const has = async (q: string) => (await prom.query(`count(${q})`)).series.length > 0;
  for (const name of metricNames) {
    // Every metric is written with braces, so selectors() sees them all.
    if (new RegExp(`(^|[^a-zA-Z0-9_:])${name}(?![a-zA-Z0-9_:{])`).test(expr)) problems.push(`${name} without {…}`);
  }
  for (const sel of selectors(expr)) {
    const name = sel.slice(0, sel.indexOf("{"));
    if (!(await has(`{__name__="${name}"}`))) {
      problems.push(`no metric ${name}`);
      continue;
    }
    const matchers = [...sel.matchAll(MATCHER)];
    for (const [, label] of matchers) if (!(await has(`${name}{${label}!=""}`))) problems.push(`${name} has no label ${label}`);
    const exact = matchers.filter((m) => m[2] === "=").map((m) => m[0]);
    if (exact.length && !(await has(`${name}{${exact.join(",")}}`))) problems.push(`no series ${name}{${exact.join(",")}}`);
  }
  return problems;
}

describe("Prometheus scraping make up's services under load", () => {
  it("scrapes the gateway, the store and the broker", async () => {
    const up = await prom.query("up{}");
    expect(Object.fromEntries(up.series.map((s) => [s.metric.service, s.value[1]]))).toEqual({ gateway: "1", store: "1", broker: "1" });
  });

  it("loads every rule of the shipped file and evaluates it without error", async () => {
    const body = (await (await fetch(`${prom.url}/api/v1/rules`)).json()) as { data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] } };
    const loaded = body.data.groups.flatMap((g) => g.rules);
    expect(loaded.map((r) => r.name).sort()).toEqual(rules().map((r) => r.alert).sort());
    expect(loaded.filter((r) => r.health !== "ok")).toEqual([]);
  });

  for (const rule of rules()) {
    it(`alert ${rule.alert}: parses, returns data below its threshold, and reads only what exists`, async () => {
      const r = await prom.query(rule.expr);
      expect(r.error).toBeUndefined();
      // A healthy system does not fire: what the threshold compares must still be there.
      const measured = rule.expr.trim().replace(/\s*(?:[<>]=?|[!=]=)\s*[\d.]+$/, "");
      expect(measured).not.toBe(rule.expr.trim());
      expect((await prom.query(measured)).series.length, measured).toBeGreaterThan(0);
      expect(await missing(rule.expr)).toEqual([]);
    });
  }

  for (const { file, json } of dashboards()) {
    it(`dashboard ${file}: every panel query parses, returns data, and reads only metrics that exist`, async () => {
      const vars = Object.fromEntries((json.templating?.list ?? []).filter((v: any) => v.type === "textbox").map((v: any) => [v.name, v.query]));
      const problems: string[] = [];
      for (const p of panelQueries().filter((q) => q.dashboard === file)) {
        const expr = p.expr.replace(/\$([a-z_]+)/g, (m, v) => vars[v] ?? m);
        const r = await prom.query(expr);
        if (!r.ok) problems.push(`${p.title}: ${r.error}`);
        else if (r.series.length === 0) problems.push(`${p.title}: no data for ${expr}`);
        problems.push(...(await missing(expr)).map((m) => `${p.title}: ${m}`));
      }
      expect(problems).toEqual([]);
    });
  }
});

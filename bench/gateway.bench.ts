// `make bench` (gateway): through the gateway with 50 connections — GET /api/v1/nodes/:id,
// POST /api/v1/nodes, GET /api/v1/projects/:id/graph (200 nodes) — with two in-run baselines:
// the same JSON from memory behind Fastify, and the same operation in one process (Fastify +
// kysely on the same database, no gRPC hop). Then event fan-out: a write to its receipt on 500
// subscribed sockets. Writes bench-results/gateway.json for bench/summary.mjs.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import autocannon from "autocannon";
import Fastify from "fastify";
import { Kysely, PostgresDialect, sql } from "kysely";
import pg from "pg";
import WebSocket, { WebSocketServer } from "ws";
import { startStack } from "@sker/testkit/stack";
import { client, register } from "@sker/testkit/http";
import { WsClient } from "@sker/testkit/ws";
import { cpuSeconds } from "./cpu.js";

const DURATION = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = 50;
const SOCKETS = Number(process.env.BENCH_SOCKETS ?? 500);
const CANVASES = (process.env.BENCH_CANVASES ?? "1000,5000").split(",").filter(Boolean).map(Number);
/** Turns each side takes at opening a canvas (BENCH_SECONDS each). */
const CANVAS_ROUNDS = Number(process.env.BENCH_CANVAS_ROUNDS ?? 3);
/** Which parts run: `requests` (node, 200-node graph, POST), `canvas`, `fanout`; all by default. */
const PARTS = new Set((process.env.BENCH_PARTS ?? "requests,canvas,fanout").split(","));

type Row = { name: string; value: number; unit: string; baseline?: string; baselineValue?: number; ratio?: number };
const rows: Row[] = [];

async function cannon(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string; connections?: number; latencies?: number[] } = {}) {
  const run = autocannon({ url, connections: opts.connections ?? CONNECTIONS, duration: DURATION, method: (opts.method ?? "GET") as "GET", headers: opts.headers, body: opts.body });
  if (opts.latencies) run.on("response", (_c: unknown, _status: number, _bytes: number, ms: number) => opts.latencies!.push(ms));
  const r = await run;
  const bad = r.non2xx + r.errors + r.timeouts;
  if (bad > 0) console.warn(`  ${url}: ${bad} non-2xx/errors of ${r.requests.total}`);
  // Progress: one line per run, as it finishes.
  console.log(`  ${(opts.method ?? "GET").padEnd(4)} ${url}: ${Math.round(r.requests.average)} req/s, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms`);
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, total: Math.max(1, r.requests.total) };
}

function record(op: string, via: { rps: number; p50: number; p99: number }, base: { rps: number; p50: number; p99: number }, baseName: string) {
  rows.push({ name: `${op} req/s`, value: via.rps, unit: "req/s", baseline: baseName, baselineValue: base.rps, ratio: via.rps / base.rps });
  rows.push({ name: `${op} p50`, value: via.p50, unit: "ms", baseline: baseName, baselineValue: base.p50, ratio: via.p50 / Math.max(base.p50, 0.01) });
  rows.push({ name: `${op} p99`, value: via.p99, unit: "ms", baseline: baseName, baselineValue: base.p99, ratio: via.p99 / Math.max(base.p99, 0.01) });
}

/** send → receipt on `sockets` local ws clients of a bare ws server, `rounds` times. */
async function bareFanout(sockets: number, rounds: number, bytes: number): Promise<number[]> {
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  await new Promise((r) => wss.once("listening", r));
  const url = `ws://127.0.0.1:${(wss.address() as { port: number }).port}`;
  const clients = await Promise.all(Array.from({ length: sockets }, () => new Promise<WebSocket>((ok) => { const c = new WebSocket(url); c.once("open", () => ok(c)); })));
  const frame = JSON.stringify({ type: "event", pad: "x".repeat(Math.max(0, bytes - 30)) });
  const delays: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    const got = clients.map((c) => new Promise<void>((ok) => c.once("message", () => (delays.push(performance.now() - t0), ok()))));
    for (const peer of wss.clients) peer.send(frame);
    await Promise.all(got);
  }
  for (const c of clients) c.terminate();
  await new Promise((r) => wss.close(r));
  return delays;
}

/** The pids of `make up`'s processes (SKER_RUN_DIR/pids), when the bench runs against them. */
const meshPids = (): Set<number> => {
  const file = `${process.env.SKER_RUN_DIR ?? ".run"}/pids`;
  if (!process.env.BENCH_GATEWAY_URL || !existsSync(file)) return new Set();
  return new Set(readFileSync(file, "utf8").trim().split("\n").map((l) => Number(l.split(" ")[0])));
};

/**
 * CPU seconds of everything a request touches: the mesh's processes, the PostgreSQL backends
 * serving the bench's database and this process (autocannon's client side, and the one-process
 * baseline's server, which runs in it). Only this database's backends: on a shared machine every
 * other database's work (and autovacuum's) lands in whichever side happens to be measured.
 */
const requestCpu = (pids: Set<number>, backends: Set<number>) => cpuSeconds((pid) => pids.has(pid) || backends.has(pid) || pid === process.pid);

/** CPU seconds of `run`, by requestCpu; backends that connect during it count from their start. */
async function cpuOf<T>(db: Kysely<any>, pids: Set<number>, run: () => Promise<T>): Promise<{ result: T; cpu: number }> {
  const backends = async () => new Set((await sql<{ pid: number }>`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'`.execute(db)).rows.map((r) => Number(r.pid)));
  const before = await backends();
  const c0 = requestCpu(pids, before);
  const result = await run();
  const all = new Set([...before, ...(await backends())]);
  return { result, cpu: requestCpu(pids, all) - c0 };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

/**
 * `make bench` points this at the processes `make up` started (BENCH_GATEWAY_URL, and the
 * store's BENCH_DATABASE_URL for the one-process baseline); alone, it starts its own stack in
 * this process, which understates the gateway (one event loop for load and service).
 */
async function target(): Promise<{ url: string; env: { DATABASE_URL: string }; close(): Promise<void> }> {
  const url = process.env.BENCH_GATEWAY_URL;
  const databaseUrl = process.env.BENCH_DATABASE_URL;
  if (url && databaseUrl) return { url, env: { DATABASE_URL: databaseUrl }, close: async () => undefined };
  return startStack({ withBroker: false, gatewayEnv: { RATE_LIMIT_PER_USER: "1000000000", LOG_LEVEL: "silent" } });
}

async function main() {
  const stack = await target();
  console.log(`gateway bench: target ${stack.url}`);
  const req = client(stack.url);
  const user = await register(req, "bench");
  const auth = { authorization: `Bearer ${user.accessToken}`, "content-type": "application/json" };
  const project = (await req("POST", "/api/v1/projects", { token: user.accessToken, body: { name: "bench" } })).body.data.id as string;
  const node = (await req("POST", "/api/v1/nodes", { token: user.accessToken, body: { projectId: project, title: "bench node", content: "x".repeat(300), tags: ["a", "b"] } })).body.data;
  const graphProject = (await req("POST", "/api/v1/projects", { token: user.accessToken, body: { name: "graph" } })).body.data.id as string;
  const gids: string[] = [];
  for (let i = 0; i < 200; i++) gids.push((await req("POST", "/api/v1/nodes", { token: user.accessToken, body: { projectId: graphProject, title: `n${i}`, content: "c".repeat(200) } })).body.data.id);
  for (let i = 1; i < 200; i += 2) await req("POST", "/api/v1/connections", { token: user.accessToken, body: { projectId: graphProject, sourceNodeId: gids[i - 1], targetNodeId: gids[i], type: "related" } });
  const nodeJson = (await req("GET", `/api/v1/nodes/${node.id}`, { token: user.accessToken })).body;
  const graphJson = (await req("GET", `/api/v1/projects/${graphProject}/graph`, { token: user.accessToken })).body;

  // Baseline 1: the same JSON from memory behind Fastify.
  const mem = Fastify();
  mem.get("/node", async () => nodeJson);
  mem.get("/graph", async () => graphJson);
  mem.post("/node", async (_r, reply) => reply.code(201).send(nodeJson));
  await mem.listen({ port: 0, host: "127.0.0.1" });
  const memUrl = `http://127.0.0.1:${(mem.server.address() as { port: number }).port}`;

  // Baseline 2: one process, Fastify + kysely on the same PostgreSQL database, membership checked.
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: stack.env.DATABASE_URL, max: 10 }) }) });
  const one = Fastify();
  const uid = user.user.id;
  one.get<{ Params: { id: string } }>("/nodes/:id", async (r) => {
    const res = await sql`SELECT n.* FROM nodes n JOIN project_members m ON m.project_id = n.project_id AND m.user_id = ${uid} WHERE n.id = ${r.params.id} AND n.deleted_at IS NULL`.execute(db);
    return { success: true, data: res.rows[0] };
  });
  one.get<{ Params: { id: string } }>("/projects/:id/graph", async (r) => {
    const m = await sql`SELECT role FROM project_members WHERE project_id = ${r.params.id} AND user_id = ${uid}`.execute(db);
    if (m.rows.length === 0) throw new Error("not a member");
    const [nodes, conns] = await Promise.all([
      sql`SELECT * FROM nodes WHERE project_id = ${r.params.id} AND deleted_at IS NULL ORDER BY created_at, id`.execute(db),
      sql`SELECT * FROM connections WHERE project_id = ${r.params.id} ORDER BY created_at, id`.execute(db),
    ]);
    return { success: true, data: { nodes: nodes.rows, connections: conns.rows } };
  });
  one.post<{ Body: { projectId: string; title: string } }>("/nodes", async (r, reply) => {
    const row = await db.transaction().execute(async (trx) => {
      await sql`SELECT id FROM projects WHERE id = ${r.body.projectId} FOR UPDATE`.execute(trx);
      const n = (await sql<any>`INSERT INTO nodes (project_id, title, created_by) VALUES (${r.body.projectId}, ${r.body.title}, ${uid}) RETURNING *`.execute(trx)).rows[0];
      await sql`INSERT INTO node_versions (node_id, version, title, content, change_type, created_by) VALUES (${n.id}, 1, ${n.title}, '', 'create', ${uid})`.execute(trx);
      await sql`INSERT INTO events (project_id, seq, name, data) SELECT ${r.body.projectId}, coalesce(max(seq), 0) + 1, 'node.created', ${JSON.stringify(n)}::jsonb FROM events WHERE project_id = ${r.body.projectId}`.execute(trx);
      return n;
    });
    return reply.code(201).send({ success: true, data: row });
  });
  await one.listen({ port: 0, host: "127.0.0.1" });
  const oneUrl = `http://127.0.0.1:${(one.server.address() as { port: number }).port}`;

  const postBody = JSON.stringify({ projectId: project, title: "bench" });
  console.log(`gateway bench: ${CONNECTIONS} connections, ${DURATION}s per run`);

  if (PARTS.has("requests")) {
    const gwGet = await cannon(`${stack.url}/api/v1/nodes/${node.id}`, { headers: auth });
    record("GET /nodes/:id (gateway)", gwGet, await cannon(`${memUrl}/node`), "fastify from memory");
    record("GET /nodes/:id (gateway)", gwGet, await cannon(`${oneUrl}/nodes/${node.id}`), "one process fastify+kysely");

    const gwGraph = await cannon(`${stack.url}/api/v1/projects/${graphProject}/graph`, { headers: auth });
    record("GET /projects/:id/graph 200 nodes (gateway)", gwGraph, await cannon(`${memUrl}/graph`), "fastify from memory");
    record("GET /projects/:id/graph 200 nodes (gateway)", gwGraph, await cannon(`${oneUrl}/projects/${graphProject}/graph`), "one process fastify+kysely");

    const gwPost = await cannon(`${stack.url}/api/v1/nodes`, { method: "POST", headers: auth, body: postBody });
    record("POST /nodes (gateway)", gwPost, await cannon(`${memUrl}/node`, { method: "POST", headers: auth, body: postBody }), "fastify from memory");
    record("POST /nodes (gateway)", gwPost, await cannon(`${oneUrl}/nodes`, { method: "POST", headers: { "content-type": "application/json" }, body: postBody }), "one process fastify+kysely");
  }

  // Whole canvases of 1,000 and 5,000 nodes (≈1.4 KB of content each: 5,000 ≈ 7 MB), written
  // straight into the database (thousands of POSTs would take minutes), opened by 4 clients.
  for (const size of PARTS.has("canvas") ? CANVASES : []) {
    const pid = (await req("POST", "/api/v1/projects", { token: user.accessToken, body: { name: `canvas ${size}` } })).body.data.id as string;
    await sql`
      INSERT INTO nodes (project_id, title, content, tags, metadata, created_by, position_x, position_y, created_at, updated_at)
      SELECT ${pid}::uuid, 'node ' || i, repeat('lorem ipsum ', 115), ARRAY['bench'], '{}'::jsonb, ${uid}::uuid, (i % 100) * 300, (i / 100) * 200,
             date_trunc('milliseconds', now()) + i * interval '1 millisecond', date_trunc('milliseconds', now())
      FROM generate_series(1, ${size}::int) AS i`.execute(db);
    await sql`
      INSERT INTO connections (project_id, source_node_id, target_node_id, type, created_by)
      SELECT ${pid}::uuid, a.id, b.id, 'related', ${uid}::uuid
      FROM (SELECT id, row_number() OVER (ORDER BY created_at) AS r FROM nodes WHERE project_id = ${pid}::uuid) a
      JOIN (SELECT id, row_number() OVER (ORDER BY created_at) AS r FROM nodes WHERE project_id = ${pid}::uuid) b ON b.r = a.r + 1
      WHERE a.r % 2 = 1`.execute(db);
    // As a canvas that has been there a while is: analyzed, and no autovacuum due during the runs.
    await sql`VACUUM ANALYZE nodes, connections`.execute(db);
    const pids = meshPids();
    // Gateway and baseline take turns (CANVAS_ROUNDS of each), so that load from elsewhere on a
    // shared machine falls on both rather than on whichever ran while it lasted.
    const sides = { gw: { times: [] as number[], n: 0, cpu: 0 }, base: { times: [] as number[], n: 0, cpu: 0 } };
    for (let round = 0; round < CANVAS_ROUNDS; round++) {
      for (const [side, url, headers] of [["gw", `${stack.url}/api/v1/projects/${pid}/graph`, auth], ["base", `${oneUrl}/projects/${pid}/graph`, undefined]] as const) {
        const s = sides[side];
        const { result, cpu } = await cpuOf(db, pids, () => cannon(url, { headers, connections: 4, latencies: s.times }));
        s.n += result.total;
        s.cpu += cpu;
      }
    }
    const figures = (s: typeof sides.gw) => ({ rps: s.n / (CANVAS_ROUNDS * DURATION), p50: pct(s.times, 50), p99: pct(s.times, 99) });
    record(`GET /projects/:id/graph ${size} nodes (gateway)`, figures(sides.gw), figures(sides.base), "one process fastify+kysely");
    const [gwCpu, baseCpu] = [sides.gw.cpu / sides.gw.n, sides.base.cpu / sides.base.n];
    rows.push({ name: `GET /projects/:id/graph ${size} nodes (gateway) CPU per open`, value: gwCpu * 1000, unit: "ms", baseline: "one process fastify+kysely", baselineValue: baseCpu * 1000, ratio: gwCpu / baseCpu });
  }

  // What is measured so far stays in the table even if the fan-out below cannot finish.
  mkdirSync("bench-results", { recursive: true });
  writeFileSync("bench-results/gateway.json", JSON.stringify(rows, null, 2));

  if (PARTS.has("fanout")) await fanout(stack.url, req, user.accessToken);

  console.table(rows.map((r) => ({ figure: r.name, value: `${r.value.toFixed(2)} ${r.unit}`, baseline: r.baseline ? `${r.baseline}: ${r.baselineValue!.toFixed(2)}` : "", ratio: r.ratio?.toFixed(2) ?? "" })));
  mkdirSync("bench-results", { recursive: true });
  writeFileSync("bench-results/gateway.json", JSON.stringify(rows, null, 2));

  await mem.close();
  await one.close();
  await db.destroy();
  await stack.close();
}

/** Event fan-out: SOCKETS sockets on one project; each write's delay to every receipt. */
async function fanout(url: string, req: ReturnType<typeof client>, token: string) {
  const fanProject = (await req("POST", "/api/v1/projects", { token: token, body: { name: "fanout" } })).body.data.id as string;
  const sockets: WsClient[] = [];
  for (let i = 0; i < SOCKETS; i++) {
    const s = await WsClient.open(url, token);
    s.send({ type: "subscribe", projectId: fanProject });
    sockets.push(s);
  }
  // On a loaded machine a subscription's replay can miss its deadline: ask again, as a client would.
  const subscribed = async (s: WsClient) => {
    for (let attempt = 1; ; attempt++) {
      const f = await s.next((x) => x.type === "subscribed" || (x.type === "error" && x.projectId === fanProject), 60_000);
      if (f.type === "subscribed") return;
      if (attempt === 5) throw new Error(`subscribe failed 5 times: ${JSON.stringify(f)}`);
      s.frames.length = 0;
      s.send({ type: "subscribe", projectId: fanProject });
    }
  };
  await Promise.all(sockets.map(subscribed));
  const writes = 30;
  /** One write's delay to its receipt on every socket (frames are dropped as they are matched). */
  const write = async (w: number, delays: number[]) => {
    const t0 = performance.now();
    const created = (await req("POST", "/api/v1/nodes", { token: token, body: { projectId: fanProject, title: `fan${w}` } })).body.data.id;
    await Promise.all(
      sockets.map((s) =>
        s.next((f) => f.type === "event" && f.data?.id === created, 30_000).then(() => delays.push(performance.now() - t0)),
      ),
    );
  };
  // Back to back: the next write once every socket has the last one.
  const delays: number[] = [];
  for (let w = 0; w < writes; w++) {
    await write(w, delays);
    for (const s of sockets) s.frames.length = 0;
  }
  // Paced: one write every 100 ms whatever the receipts (an active canvas).
  const paced: number[] = [];
  const pacing: Promise<void>[] = [];
  for (let w = 0; w < writes; w++) {
    pacing.push(write(writes + w, paced));
    await new Promise((r) => setTimeout(r, 100));
  }
  await Promise.all(pacing);
  // Baseline: a bare ws server in this process sending a frame of the same size to as many
  // sockets (no HTTP write, store, outbox, RabbitMQ or gateway in between).
  const base = await bareFanout(SOCKETS, writes, JSON.stringify(sockets[0]?.frames.at(-1) ?? { pad: "x".repeat(600) }).length);
  for (const [how, xs] of [["back to back", delays], ["one write every 100 ms", paced]] as const) {
    for (const p of [50, 99] as const) {
      const v = pct(xs, p);
      const b = pct(base, p);
      rows.push({ name: `fan-out write→receipt p${p} (${SOCKETS} sockets, ${how})`, value: v, unit: "ms", baseline: "bare ws broadcast in process", baselineValue: b, ratio: v / Math.max(b, 0.01) });
    }
  }
  console.log(`  fan-out: p50 ${pct(delays, 50).toFixed(1)} / p99 ${pct(delays, 99).toFixed(1)} ms back to back, p99 ${pct(paced, 99).toFixed(1)} ms paced (bare ws p50 ${pct(base, 50).toFixed(1)} ms)`);
  for (const s of sockets) s.ws.terminate();
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);

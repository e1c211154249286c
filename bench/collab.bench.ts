// `make bench` (collaboration): search over 100,000 nodes in 100 projects (p50/p99 of 50 mixed
// English and Chinese queries through GET /api/v1/search), and the cost of presence: the
// gateway process's CPU while 200 sockets (20 rooms of 10 users) each send a cursor at 20 Hz,
// beside the same sockets idle. Writes bench-results/collab.json for bench/summary.mjs.
// Runs against make up (BENCH_GATEWAY_URL, BENCH_DATABASE_URL, BENCH_GATEWAY_PID).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import pg from "pg";
import { client, register } from "@sker/testkit/http";
import { WsClient } from "@sker/testkit/ws";

const NODES = Number(process.env.BENCH_SEARCH_NODES ?? 100_000);
const PROJECTS = 100;
const ROOMS = 20;
const PER_ROOM = 10;
const HZ = 20;
const WINDOW_S = Number(process.env.BENCH_PRESENCE_SECONDS ?? 10);

type Row = { name: string; value: number; unit: string; baseline?: string; baselineValue?: number; ratio?: number };
const rows: Row[] = [];
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const EN = ["transformer", "attention", "launch", "roadmap", "budget", "design", "review", "customer", "latency", "cache", "schema", "deploy", "canvas", "meeting", "research", "feedback", "pricing", "security", "mobile", "search"];
const ZH = ["机器学习", "注意力机制", "产品发布", "数据清洗", "用户反馈", "设计评审", "性能优化", "会议记录", "市场调研", "安全审计", "模型训练", "知识图谱", "画布协作", "搜索引擎", "预算规划", "深度学习", "自然语言", "推荐系统", "项目管理", "技术债务"];
// 50 queries: common and rare English words, two-word queries, Chinese words of 2 and 4
// characters, and misses.
const QUERIES = [
  ...EN.slice(0, 12),
  ...ZH.slice(0, 12),
  ...ZH.slice(0, 8).map((w) => w.slice(0, 2)),
  "launch roadmap", "cache latency", "security review", "design canvas", "机器学习 模型训练", "用户反馈 产品发布",
  "nonexistentword", "不存在的词语", "zzzz", "qwertyuiop",
  "transform", "atten", "dep", "数据", "优化", "会议", "搜索",
  "Attention",
].slice(0, 50);

/** CPU seconds (user + system) of a process, from /proc. */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

async function searchBench(base: string, databaseUrl: string) {
  const req = client(base);
  const user = await register(req, "search");
  const ids: string[] = [];
  for (let i = 0; i < PROJECTS; i++) ids.push((await req("POST", "/api/v1/projects", { token: user.accessToken, body: { name: `project ${i}` } })).body.data.id);
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  const t0 = performance.now();
  // Bulk SQL. Each node: a title of 3 tokens and a content of 30, each token a topic word
  // (English or Chinese) with probability 1/10, else one of 5,000 filler words (half of them
  // two random CJK characters): a topic word is in about 7% of the nodes. The trigram index is
  // built after the rows, as a restore would.
  await db.query("DROP INDEX IF EXISTS nodes_search_trgm");
  const words = [...EN, ...ZH];
  const token = (i: string) =>
    `CASE WHEN abs(hashint4(g * 64 + ${i})) % 10 = 0 THEN ($4::text[])[1 + abs(hashint4(g * 64 + ${i} + 7)) % ${words.length}]
      WHEN abs(hashint4(g * 64 + ${i} + 3)) % 2 = 0 THEN 'w' || (abs(hashint4(g * 64 + ${i} + 5)) % 2500)::text
      ELSE chr(19968 + abs(hashint4(g * 64 + ${i} + 11)) % 2000) || chr(19968 + abs(hashint4(g * 64 + ${i} + 13)) % 2000) END`;
  await db.query(
    `INSERT INTO nodes (project_id, title, content, created_by)
     SELECT ($1::uuid[])[1 + (g % $3)],
            array_to_string(ARRAY(SELECT ${token("i")} FROM generate_series(1, 3) i), ' '),
            array_to_string(ARRAY(SELECT ${token("i + 3")} FROM generate_series(1, 30) i), ' '),
            $2
     FROM generate_series(1, $5) g`,
    [ids, user.user.id, PROJECTS, words, NODES],
  );
  await db.query("CREATE INDEX nodes_search_trgm ON nodes USING gin ((title || ' ' || content) gin_trgm_ops) WHERE deleted_at IS NULL");
  await db.query("ANALYZE");
  console.log(`  search: ${NODES} nodes in ${PROJECTS} projects inserted in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  await db.end();
  const lat: number[] = [];
  let hits = 0;
  for (const q of QUERIES) await req("GET", `/api/v1/search?q=${encodeURIComponent(q)}&limit=20`, { token: user.accessToken }); // warm
  for (const q of QUERIES) {
    const t = performance.now();
    const res = await req("GET", `/api/v1/search?q=${encodeURIComponent(q)}&limit=20`, { token: user.accessToken });
    lat.push(performance.now() - t);
    if (res.status !== 200) throw new Error(`search ${q}: ${res.status} ${JSON.stringify(res.body)}`);
    hits += res.body.data.items.length;
  }
  console.log(`  search: 50 queries, p50 ${pct(lat, 50).toFixed(1)} ms, p99 ${pct(lat, 99).toFixed(1)} ms, max ${Math.max(...lat).toFixed(1)} ms, ${hits} hits`);
  rows.push({ name: `search p50 (${NODES} nodes, ${PROJECTS} projects, 50 mixed queries)`, value: pct(lat, 50), unit: "ms" });
  rows.push({ name: `search p99 (${NODES} nodes, ${PROJECTS} projects, 50 mixed queries)`, value: pct(lat, 99), unit: "ms" });
}

async function presenceBench(base: string, pid: number) {
  const req = client(base);
  const sockets: { ws: WsClient; projectId: string }[] = [];
  for (let r = 0; r < ROOMS; r++) {
    const users = [];
    for (let u = 0; u < PER_ROOM; u++) users.push(await register(req, "pres"));
    const projectId = (await req("POST", "/api/v1/projects", { token: users[0].accessToken, body: { name: `room ${r}` } })).body.data.id;
    for (const u of users.slice(1)) await req("PUT", `/api/v1/projects/${projectId}/members/${u.user.id}`, { token: users[0].accessToken, body: { role: "viewer" } });
    for (const u of users) {
      const ws = await WsClient.open(base, u.accessToken);
      ws.send({ type: "subscribe", projectId });
      await ws.next((f) => f.type === "presence.state");
      sockets.push({ ws, projectId });
    }
  }
  const received = () => sockets.reduce((n, s) => n + s.ws.frames.length, 0);
  const measure = async (moving: boolean) => {
    const frames0 = received();
    const cpu0 = cpuSeconds(pid);
    const t0 = performance.now();
    let sent = 0;
    const timer = moving
      ? setInterval(() => {
          for (const s of sockets) s.ws.send({ type: "presence", projectId: s.projectId, cursor: { x: Math.random() * 1000, y: Math.random() * 1000 } });
          sent += sockets.length;
        }, 1000 / HZ)
      : undefined;
    await sleep(WINDOW_S * 1000);
    clearInterval(timer);
    const wall = (performance.now() - t0) / 1000;
    const cpu = ((cpuSeconds(pid) - cpu0) / wall) * 100;
    const framesPerS = (received() - frames0) / wall;
    for (const s of sockets) s.ws.frames.length = 0;
    return { cpu, sentPerS: sent / wall, framesPerS };
  };
  const idle = await measure(false);
  const moving = await measure(true);
  await sleep(500);
  console.log(`  presence: ${sockets.length} sockets idle: gateway CPU ${idle.cpu.toFixed(1)}%; moving at ${HZ} Hz: ${moving.sentPerS.toFixed(0)} msgs/s in, ${moving.framesPerS.toFixed(0)} frames/s out, gateway CPU ${moving.cpu.toFixed(1)}%`);
  rows.push({ name: `presence: gateway CPU, ${sockets.length} sockets at ${HZ} Hz (${ROOMS} rooms of ${PER_ROOM})`, value: moving.cpu, unit: "% of a core", baseline: "same sockets idle", baselineValue: idle.cpu, ratio: moving.cpu / Math.max(idle.cpu, 0.01) });
  rows.push({ name: "presence: updates sent by clients", value: moving.sentPerS, unit: "msg/s" });
  rows.push({ name: "presence: frames delivered to clients", value: moving.framesPerS, unit: "frames/s" });
  for (const s of sockets) s.ws.close();
}

async function main() {
  const base = process.env.BENCH_GATEWAY_URL;
  const databaseUrl = process.env.BENCH_DATABASE_URL;
  const pid = Number(process.env.BENCH_GATEWAY_PID);
  if (!base || !databaseUrl || !pid) throw new Error("collab bench runs against make up: BENCH_GATEWAY_URL, BENCH_DATABASE_URL and BENCH_GATEWAY_PID");
  console.log(`collab bench: target ${base} (gateway pid ${pid})`);
  await searchBench(base, databaseUrl);
  await presenceBench(base, pid);
  mkdirSync("bench-results", { recursive: true });
  writeFileSync("bench-results/collab.json", JSON.stringify(rows, null, 2));
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

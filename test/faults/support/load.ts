// What the drills send and what they count: REST calls with their status and latency, AI tasks
// submitted through the gateways, sockets subscribed to the drill's projects; and the checks
// against PostgreSQL afterwards (lost and duplicated tasks, sockets behind the last seq).
import { setTimeout as sleep } from "node:timers/promises";
import { WsClient } from "@sker/testkit/ws";
import type { Mesh } from "./mesh.js";

export interface Call {
  status: number | string;
  ms: number;
  body: any;
  headers?: Headers;
}

export async function call(base: string, method: string, path: string, token?: string, body?: unknown, headers: Record<string, string> = {}): Promise<Call> {
  const t0 = performance.now();
  try {
    const res = await fetch(base + path, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { "content-type": "application/json" } : {}), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(90_000),
    });
    const text = await res.text();
    return { status: res.status, ms: performance.now() - t0, body: text ? JSON.parse(text) : null, headers: res.headers };
  } catch (err) {
    const e = err as { cause?: { code?: string }; name?: string };
    return { status: e.cause?.code ?? e.name ?? "error", ms: performance.now() - t0, body: null };
  }
}

/** Counts of what was sent and how it ended. */
export class Tally {
  sent = 0;
  ok = 0;
  byStatus: Record<string, number> = {};
  slowest = 0;
  /** Calls slower than 1 s, with when they started (ms since the tally began). */
  slow: { at: number; ms: number; status: number | string }[] = [];
  private readonly t0 = Date.now();

  add(c: Call, startedAt = Date.now() - c.ms): void {
    this.sent++;
    if (typeof c.status === "number" && c.status < 400) this.ok++;
    else {
      const key = c.body?.error?.code ? `${c.status} ${c.body.error.code}` : String(c.status);
      this.byStatus[key] = (this.byStatus[key] ?? 0) + 1;
    }
    this.slowest = Math.max(this.slowest, c.ms);
    // Unrounded: a drill holds these against a slowest time measured the same way.
    if (c.ms > 1_000) this.slow.push({ at: startedAt - this.t0, ms: c.ms, status: c.status });
  }

  get failed(): number {
    return this.sent - this.ok;
  }
}

export interface Setup {
  token: string;
  userId: string;
  projects: string[];
}

let users = 0;
export async function setup(base: string, projects: number): Promise<Setup> {
  const tag = `f${Date.now().toString(36)}${users++}${Math.random().toString(36).slice(2, 6)}`;
  const reg = await call(base, "POST", "/api/v1/auth/register", undefined, { email: `${tag}@example.com`, username: tag, password: "correct horse battery" });
  if (reg.status !== 201) throw new Error(`register: ${reg.status} ${JSON.stringify(reg.body)}`);
  const token = reg.body.data.accessToken as string;
  const ids: string[] = [];
  for (let i = 0; i < projects; i++) {
    const p = await call(base, "POST", "/api/v1/projects", token, { name: `drill ${i}` });
    ids.push(p.body.data.id);
  }
  return { token, userId: reg.body.data.user.id, projects: ids };
}

/** `perGateway` sockets on each gateway, each subscribed to every project from seq 0. */
export async function openSockets(gateways: string[], s: Setup, perGateway: number): Promise<WsClient[]> {
  const sockets: WsClient[] = [];
  for (const g of gateways) {
    for (let i = 0; i < perGateway; i++) {
      const ws = await WsClient.open(g, s.token);
      for (const p of s.projects) {
        ws.send({ type: "subscribe", projectId: p, since: 0 });
        await ws.next((f) => f.type === "subscribed" && f.projectId === p);
      }
      sockets.push(ws);
    }
  }
  return sockets;
}

/** Runs `workers` loops of `step` until `stop()` says so. */
export async function loop(workers: number, stop: () => boolean, step: (worker: number, i: number) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      while (!stop()) await step(w, i++);
    }),
  );
}

/**
 * A node write then a read of it, alternating gateways; every call goes into the tally. Each
 * call picks its gateway when it is sent, as a balancer does: a read sent seconds after its
 * write (a loaded machine) goes where the balancer points by then.
 */
export function writeAndRead(gateways: () => string[], s: Setup, tally: Tally) {
  const pick = (n: number) => {
    const gs = gateways();
    return gs[n % gs.length];
  };
  return async (w: number, i: number) => {
    const projectId = s.projects[i % s.projects.length];
    const created = await call(pick(w + i), "POST", "/api/v1/nodes", s.token, { projectId, title: `w${w}-${i}`, content: "drill" });
    tally.add(created);
    if (created.status === 201) tally.add(await call(pick(w + i), "GET", `/api/v1/nodes/${created.body.data.id}`, s.token));
  };
}

/** Titles of node writes by how they were answered, to hold against the database afterwards. */
export interface Written {
  created: string[];
  refused: string[];
}

/** Like writeAndRead, keeping each write's title by its answer (201 or not). */
export function writeTracked(gateways: () => string[], s: Setup, tally: Tally, out: Written, label: string) {
  return async (w: number, i: number) => {
    const gs = gateways();
    const base = gs[(w + i) % gs.length];
    const title = `${label} w${w}-${i}`;
    const created = await call(base, "POST", "/api/v1/nodes", s.token, { projectId: s.projects[i % s.projects.length], title, content: "drill" });
    tally.add(created);
    if (created.status !== 201) return void out.refused.push(title);
    out.created.push(title);
    tally.add(await call(base, "GET", `/api/v1/nodes/${created.body.data.id}`, s.token));
  };
}

export interface WriteFigures {
  /** Answered 201 but not in the database. */
  lostWrites: number;
  /** Answered with an error but in the database anyway (a COMMIT in flight when the connection died is in doubt). */
  ghostWrites: number;
  /** Records without the rest of their write: a node without its version or node.created event, a task without its task.queued event. */
  halfWritten: number;
}

export async function checkWrites(mesh: Mesh, s: Setup, out: Written): Promise<WriteFigures> {
  const count = async (q: string, params: unknown[]) => Number((await mesh.db.query<{ n: string }>(q, params)).rows[0].n);
  const inProjects = "project_id = ANY($1::uuid[])";
  const found = await count(`SELECT count(*) AS n FROM nodes WHERE ${inProjects} AND title = ANY($2::text[])`, [s.projects, out.created]);
  const half = await count(
    `SELECT (SELECT count(*) FROM nodes n WHERE ${inProjects.replace("project_id", "n.project_id")} AND (
         NOT EXISTS (SELECT 1 FROM node_versions v WHERE v.node_id = n.id)
         OR NOT EXISTS (SELECT 1 FROM events e WHERE e.project_id = n.project_id AND e.name = 'node.created' AND coalesce(e.payload->'node'->>'id', e.data->>'id') = n.id::text)))
     + (SELECT count(*) FROM tasks t WHERE ${inProjects.replace("project_id", "t.project_id")}
         AND NOT EXISTS (SELECT 1 FROM events e WHERE e.project_id = t.project_id AND e.name = 'task.queued' AND coalesce(e.payload->'task'->>'id', e.data->>'id') = t.id::text)) AS n`,
    [s.projects],
  );
  return {
    lostWrites: out.created.length - found,
    ghostWrites: await count(`SELECT count(*) AS n FROM nodes WHERE ${inProjects} AND title = ANY($2::text[])`, [s.projects, out.refused]),
    halfWritten: half,
  };
}

export interface Submitted {
  accepted: string[];
  /** Prompts of submissions answered with an error (a 503 must mean the task was not created). */
  /** By prompt, with the request's project and the Idempotency-Key its answer carried. */
  refused: Map<string, { projectId: string; key: string | null }>;
  /** Submissions with no answer at all (the client gave up): their outcome is unknown. */
  unanswered: number;
}

/** `count` submissions, `concurrency` at a time, or fewer if `stop()` says so first. */
export async function submitTasks(gateways: () => string[], s: Setup, count: number, concurrency: number, tally: Tally, label: string, stop = () => false): Promise<Submitted> {
  const out: Submitted = { accepted: [], refused: new Map(), unanswered: 0 };
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count && !stop()) {
        const i = next++;
        const gs = gateways();
        const prompt = `${label} ${i}`;
        const projectId = s.projects[i % s.projects.length];
        const c = await call(gs[i % gs.length], "POST", "/api/v1/ai-tasks", s.token, { projectId, type: "generate", prompt });
        tally.add(c);
        if (c.status === 202) out.accepted.push(c.body.data.id);
        else if (typeof c.status === "number") out.refused.set(prompt, { projectId, key: c.headers?.get("idempotency-key") ?? null });
        else out.unanswered++;
      }
    }),
  );
  return out;
}

export interface TaskFigures {
  completed: number;
  failed: number;
  /** Why the failed ones failed (error code → count). */
  failedCodes: Record<string, number>;
  lost: number;
  duplicated: number;
  /** Refused submissions whose task exists anyway. */
  ghosts: number;
  msToFinish: number;
}

/** Waits until every accepted task is finished (or `timeoutMs`), then counts. */
export async function checkTasks(mesh: Mesh, sub: Submitted, timeoutMs: number): Promise<TaskFigures> {
  const t0 = Date.now();
  const statusOf = async () =>
    (await mesh.db.query<{ status: string; n: string }>("SELECT status, count(*) AS n FROM tasks WHERE id = ANY($1::uuid[]) GROUP BY status", [sub.accepted])).rows;
  let rows = await statusOf();
  while (rows.some((r) => r.status === "queued" || r.status === "running") && Date.now() - t0 < timeoutMs) {
    await sleep(250);
    rows = await statusOf();
  }
  const n = (st: string) => Number(rows.find((r) => r.status === st)?.n ?? 0);
  const dup = await mesh.db.query<{ n: string }>(
    `SELECT count(*) AS n FROM (SELECT task_id FROM node_versions WHERE task_id = ANY($1::uuid[]) GROUP BY task_id HAVING count(*) > 1) d`,
    [sub.accepted],
  );
  const dupEvents = await mesh.db.query<{ n: string }>(
    `SELECT count(*) AS n FROM (SELECT data->>'id' FROM events WHERE name = 'task.completed' AND data->>'id' = ANY($1::text[]) GROUP BY data->>'id' HAVING count(*) > 1) d`,
    [sub.accepted],
  );
  const ghosts = sub.refused.size
    ? Number((await mesh.db.query<{ n: string }>("SELECT count(*) AS n FROM tasks WHERE prompt = ANY($1::text[])", [[...sub.refused.keys()]])).rows[0].n)
    : 0;
  const codes = await mesh.db.query<{ code: string; n: string }>(
    "SELECT coalesce(error_code, '') AS code, count(*) AS n FROM tasks WHERE id = ANY($1::uuid[]) AND status = 'failed' GROUP BY 1",
    [sub.accepted],
  );
  return {
    completed: n("completed"),
    failed: n("failed"),
    failedCodes: Object.fromEntries(codes.rows.map((r) => [r.code, Number(r.n)])),
    lost: sub.accepted.length - n("completed") - n("failed") - n("cancelled"),
    duplicated: Number(dup.rows[0].n) + Number(dupEvents.rows[0].n),
    ghosts,
    msToFinish: Date.now() - t0,
  };
}

export interface SocketFigures {
  sockets: number;
  /** Sockets that did not reach their project's last seq in time. */
  missed: number;
  /** Seqs seen out of order or twice. */
  disorder: number;
  msToCatchUp: number;
}

/** Every socket ends at each project's last seq, having seen 1..last once each, in order. */
export async function checkSockets(mesh: Mesh, sockets: WsClient[], s: Setup, timeoutMs: number): Promise<SocketFigures> {
  const t0 = Date.now();
  const latest = new Map(
    (await mesh.db.query<{ id: string; event_seq: number }>("SELECT id, event_seq FROM projects WHERE id = ANY($1::uuid[])", [s.projects])).rows.map((r) => [r.id, Number(r.event_seq)]),
  );
  const behind = () => sockets.filter((ws) => s.projects.some((p) => (ws.events(p).at(-1)?.seq ?? 0) < latest.get(p)!));
  while (behind().length > 0 && Date.now() - t0 < timeoutMs) await sleep(100);
  let disorder = 0;
  for (const ws of sockets) for (const p of s.projects) ws.events(p).forEach((e, i) => (disorder += e.seq === i + 1 ? 0 : 1));
  return { sockets: sockets.length, missed: behind().length, disorder, msToCatchUp: Date.now() - t0 };
}

export function report(drill: string, figures: Record<string, unknown>): void {
  const line = Object.entries(figures)
    .map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`)
    .join(" ");
  console.log(`[fault drill] ${drill}: ${line}`);
}

/**
 * Refused submissions whose task exists all the same (a COMMIT in flight when PostgreSQL went
 * away: in doubt, the store could not know), each asked again with the Idempotency-Key its 503
 * carried: resolved when that answers 200 with the very task, so the client ends with one task.
 */
export async function resolveInDoubt(mesh: Mesh, gateway: string, s: Setup, sub: Submitted): Promise<{ inDoubt: number; resolved: number }> {
  if (sub.refused.size === 0) return { inDoubt: 0, resolved: 0 };
  const { rows } = await mesh.db.query<{ id: string; prompt: string }>("SELECT id, prompt FROM tasks WHERE prompt = ANY($1::text[])", [[...sub.refused.keys()]]);
  let resolved = 0;
  for (const r of rows) {
    const asked = sub.refused.get(r.prompt);
    if (!asked?.key) continue;
    const again = await call(gateway, "POST", "/api/v1/ai-tasks", s.token, { projectId: asked.projectId, type: "generate", prompt: r.prompt }, { "idempotency-key": asked.key });
    if (again.status === 200 && again.body?.data?.id === r.id) resolved++;
  }
  return { inDoubt: rows.length, resolved };
}

// Events carry the resource as its proto message and the gateway renders them with the mappers of
// its HTTP routes: an event's `data` is field for field what GET answers for the same resource.
// Rows written before typed events (REST-shaped `data`) still replay, live and with `since`.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { JSON_DEPTH } from "@sker/contracts/limits";
import { rendered } from "../src/rest/event.js";
import { startStack, type Stack } from "@sker/testkit/stack";
import { client, register, type Req } from "@sker/testkit/http";
import { directClients, type Direct } from "./support/grpc.js";
import { WsClient } from "@sker/testkit/ws";

let stack: Stack;
let req: Req;
let direct: Direct;
let db: pg.Pool;
let alice: Awaited<ReturnType<typeof register>>;
let bob: Awaited<ReturnType<typeof register>>;
const sockets: WsClient[] = [];

beforeAll(async () => {
  stack = await startStack();
  req = client(stack.url);
  direct = directClients(stack);
  db = new pg.Pool({ connectionString: stack.env.DATABASE_URL, max: 2 });
  alice = await register(req, "tea");
  bob = await register(req, "teb");
}, 60_000);
afterAll(async () => {
  for (const s of sockets) s.ws.terminate();
  await db?.end();
  await stack?.close();
});

const get = async (path: string, token = alice.accessToken) => {
  const res = await req("GET", path, { token });
  expect(res.status, path).toBe(200);
  return res.body.data;
};
const send = async (method: string, path: string, body?: unknown, token = alice.accessToken) => {
  const res = await req(method, path, { token, body });
  expect(res.status, `${method} ${path}: ${JSON.stringify(res.body)}`).toBeLessThan(300);
  return res.body?.data;
};
const subscribed = async (projectId: string, token = alice.accessToken, since?: number) => {
  const ws = await WsClient.open(stack.url, token);
  sockets.push(ws);
  ws.send({ type: "subscribe", projectId, ...(since === undefined ? {} : { since }) });
  await ws.next((f) => f.type === "subscribed" && f.projectId === projectId);
  return ws;
};
/** The next event of that name about that resource (by id, or by userId for members) after `write`. */
async function after(ws: WsClient, write: () => Promise<unknown>, name: string, id: () => string) {
  const mark = Math.max(0, ...ws.frames.filter((f) => f.type === "event" && f.seq !== null).map((f) => f.seq as number));
  await write();
  return ws.next((f) => f.type === "event" && f.seq > mark && f.name === name && (f.data.id ?? f.data.userId) === id());
}
const withoutRole = ({ role: _, ...rest }: Record<string, unknown>) => rest;
const members = async (projectId: string, token: string) => (await get(`/api/v1/projects/${projectId}/members`, token)).items as { userId: string }[];

describe("an event's data is the resource as GET shows it", () => {
  it("project, member, node, connection and task events, each equal to GET after the write", async () => {
    const projectId = (await send("POST", "/api/v1/projects", { name: "typed" })).id as string;
    const ws = await subscribed(projectId);

    let e = await after(ws, () => send("PATCH", `/api/v1/projects/${projectId}`, { description: "now typed", settings: { theme: { dark: true } } }), "project.updated", () => projectId);
    const project = await get(`/api/v1/projects/${projectId}`);
    // The role in GET is the caller's own; an event goes to every member, so it has none.
    expect(project.role).toBe("owner");
    expect(e.data).toEqual(withoutRole(project));

    e = await after(ws, () => send("PUT", `/api/v1/projects/${projectId}/members/${bob.user.id}`, { role: "editor" }), "member.updated", () => bob.user.id);
    // Members as a non-owner sees them (no email): every subscriber sees events.
    expect(e.data).toEqual((await members(projectId, bob.accessToken)).find((m) => m.userId === bob.user.id));

    let node: any;
    const create = async () => (node = await send("POST", "/api/v1/nodes", { projectId, title: "n", content: "c", tags: ["t"], position: { x: 3, y: 4 }, metadata: { a: [1, { b: null }] } }, bob.accessToken));
    e = await after(ws, create, "node.created", () => node.id);
    expect(e.data).toEqual(await get(`/api/v1/nodes/${node.id}`));
    e = await after(ws, () => send("PATCH", `/api/v1/nodes/${node.id}`, { content: "c2", recipe: { type: "optimize", prompt: "tighter" } }), "node.updated", () => node.id);
    const patched = await get(`/api/v1/nodes/${node.id}`);
    expect(patched).toMatchObject({ deletedAt: null, recipe: { type: "optimize", prompt: "tighter", options: {} } });
    expect(e.data).toEqual(patched);

    const other = await send("POST", "/api/v1/nodes", { projectId, title: "other" });
    let conn: any;
    e = await after(ws, async () => (conn = await send("POST", "/api/v1/connections", { projectId, sourceNodeId: node.id, targetNodeId: other.id, type: "input" })), "connection.created", () => conn.id);
    expect(e.data).toEqual(await get(`/api/v1/connections/${conn.id}`));
    e = await after(ws, () => send("PATCH", `/api/v1/connections/${conn.id}`, { label: "feeds", weight: 0.5 }), "connection.updated", () => conn.id);
    expect(e.data).toEqual(await get(`/api/v1/connections/${conn.id}`));

    let submitted: any;
    const submit = async () => (submitted = await send("POST", "/api/v1/ai-tasks", { projectId, type: "optimize", nodeId: other.id, options: { temperature: 0.5 } }));
    e = await after(ws, submit, "task.queued", () => submitted.id);
    expect(e.data).toEqual(submitted);
    e = await ws.next((f) => f.name === "task.completed" && f.data.id === submitted.id, 30_000);
    const task = await get(`/api/v1/ai-tasks/${submitted.id}`);
    expect(task.status).toBe("completed");
    expect(e.data).toEqual(task);
    const rewritten = await ws.next((f) => f.name === "node.updated" && f.data.id === other.id && f.data.status === "completed");
    expect(rewritten.data).toEqual(await get(`/api/v1/nodes/${other.id}`));

    e = await after(ws, () => send("DELETE", `/api/v1/connections/${conn.id}`), "connection.deleted", () => conn.id);
    expect(e.data).toEqual({ id: conn.id });
    e = await after(ws, () => send("DELETE", `/api/v1/projects/${projectId}/members/${bob.user.id}`), "member.updated", () => bob.user.id);
    expect(e.data).toEqual({ projectId, userId: bob.user.id, role: null });

    // The replay of the same events renders them the same.
    const replay = await subscribed(projectId, alice.accessToken, 0);
    const live = ws.events(projectId);
    expect(await replay.waitEvents(projectId, live.length)).toEqual(live);
  }, 60_000);

  it("a creator who deleted their account: createdBy is null in GET and in the event alike", async () => {
    const carol = await register(req, "tec");
    const projectId = (await send("POST", "/api/v1/projects", { name: "orphaned" })).id as string;
    await send("PUT", `/api/v1/projects/${projectId}/members/${carol.user.id}`, { role: "editor" });
    const node = await send("POST", "/api/v1/nodes", { projectId, title: "by carol" }, carol.accessToken);
    await send("DELETE", "/api/v1/users/me", undefined, carol.accessToken);
    const ws = await subscribed(projectId);
    const e = await after(ws, () => send("PATCH", `/api/v1/nodes/${node.id}`, { title: "kept" }), "node.updated", () => node.id);
    const now = await get(`/api/v1/nodes/${node.id}`);
    expect(now.createdBy).toBeNull();
    expect(e.data).toEqual(now);
  }, 30_000);
});

describe("events written before typed events", () => {
  /** Appends a row as the store did before migration 0012: REST-shaped `data`, no payload. */
  async function writeOld(projectId: string, name: string, data: unknown, userId: string): Promise<number> {
    const c = await db.connect();
    try {
      await c.query("BEGIN");
      const { rows } = await c.query("UPDATE projects SET event_seq = event_seq + 1 WHERE id = $1 RETURNING event_seq", [projectId]);
      const seq = Number(rows[0].event_seq);
      await c.query("INSERT INTO events (project_id, seq, name, data, actor_user_id) VALUES ($1, $2, $3, $4::jsonb, $5)", [projectId, seq, name, JSON.stringify(data), userId]);
      await c.query("COMMIT");
      return seq;
    } finally {
      c.release();
    }
  }

  it("replay live (the outbox), with subscribe {since} and through ListEvents as the resource GET shows", async () => {
    const projectId = (await send("POST", "/api/v1/projects", { name: "old rows" })).id as string;
    await send("PUT", `/api/v1/projects/${projectId}/members/${bob.user.id}`, { role: "viewer" });
    // Metadata as deep as a node takes (the field's own object is level 1).
    const deep = Array.from({ length: JSON_DEPTH - 1 }).reduce<Record<string, unknown>>((inner) => ({ d: inner }), { er: "leaf" });
    const node = await send("POST", "/api/v1/nodes", { projectId, title: "old", metadata: deep });
    const other = await send("POST", "/api/v1/nodes", { projectId, title: "other" });
    const conn = await send("POST", "/api/v1/connections", { projectId, sourceNodeId: node.id, targetNodeId: other.id, type: "related" });
    const task = await send("POST", "/api/v1/ai-tasks", { projectId, type: "analyze", nodeId: other.id });
    const done = await waitFor(async () => {
      const t = await get(`/api/v1/ai-tasks/${task.id}`);
      return t.status === "completed" ? t : undefined;
    });
    const [restNode, restOther, restConn, restProject] = await Promise.all([
      get(`/api/v1/nodes/${node.id}`),
      get(`/api/v1/nodes/${other.id}`),
      get(`/api/v1/connections/${conn.id}`),
      get(`/api/v1/projects/${projectId}`),
    ]);
    const bobMember = (await members(projectId, bob.accessToken)).find((m) => m.userId === bob.user.id)!;
    const live = await subscribed(projectId, bob.accessToken);
    const before = (await direct.events.listEvents({ projectId, afterSeq: 0, limit: 1 }, { token: alice.accessToken })).latestSeq;

    // The shapes the store wrote then: lowercase enums, no deletedAt, the stored recipe and task
    // options as they were kept, nulls for absent ids, role null for a member who left.
    const { deletedAt: _, ...oldNode } = restNode;
    const old: [string, unknown, unknown][] = [
      ["node.updated", { ...oldNode, recipe: null }, restNode],
      ["node.updated", { ...restOther, deletedAt: undefined, recipe: { type: "analyze", options: { model: "m" } } }, { ...restOther, recipe: { type: "analyze", options: { model: "m" } } }],
      ["connection.updated", restConn, restConn],
      ["task.completed", done, done],
      ["project.updated", withoutRole(restProject), withoutRole(restProject)],
      ["member.updated", bobMember, bobMember],
      ["node.deleted", { id: other.id }, { id: other.id }],
      ["member.updated", { projectId, userId: bob.user.id, role: null }, { projectId, userId: bob.user.id, role: null }],
    ];
    for (const [name, data] of old) await writeOld(projectId, name, JSON.parse(JSON.stringify(data)), alice.user.id);
    const expected = old.map(([name, , data], i) => ({ seq: before + i + 1, name, data }));
    const framesOf = (ws: WsClient) => ws.events(projectId).filter((f) => f.seq > before).map(({ seq, name, data }) => ({ seq, name, data }));

    // Live: the relay publishes the unpublished old rows as typed events.
    await live.waitEvents(projectId, expected.length);
    expect(framesOf(live)).toEqual(expected);

    const replay = await subscribed(projectId, alice.accessToken, before);
    await replay.waitEvents(projectId, expected.length);
    expect(framesOf(replay)).toEqual(expected);

    const listed = await direct.events.listEvents({ projectId, afterSeq: before }, { token: alice.accessToken });
    expect(listed.events.map((e) => e.payload?.resource?.$case)).toEqual(["node", "node", "connection", "task", "project", "member", "deleted", "memberRemoved"]);
    expect(listed.events[0].payload?.resource?.value).toMatchObject({ id: node.id, status: "NODE_STATUS_IDLE", metadata: deep });
    expect(listed.events[3].payload?.resource?.value).toMatchObject({ id: task.id, type: "TASK_TYPE_ANALYZE", status: "TASK_STATUS_COMPLETED" });
  }, 90_000);

  it("a persisted bus event without a typed payload (a store still on the old code) passes as it came", () => {
    const old = { projectId: "p", seq: 3, name: "node.deleted", data: { id: "n1" }, at: "2026-01-01T00:00:00.000Z", actor: null };
    expect(rendered(old)).toEqual(old);
    const typed = { ...old, data: { deleted: { id: "n1" } } };
    expect(rendered(typed)).toEqual(old);
    const progress = { ...old, seq: null, name: "task.progress", data: { taskId: "t", index: 0, delta: "x" } };
    expect(rendered(progress)).toBe(progress);
  });
});

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const got = await probe();
    if (got !== undefined) return got;
    if (Date.now() > until) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 100));
  }
}

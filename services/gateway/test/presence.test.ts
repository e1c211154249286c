// Presence across two gateway processes' worth of gateways (each its own bus consumer on the
// real RabbitMQ), against a real store and broker.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { startStack, type Stack } from "@sker/testkit/stack";
import { client, register, type Req } from "@sker/testkit/http";
import { WsClient } from "@sker/testkit/ws";

const TTL_MS = 3000;
let stack: Stack;
let req: Req;
let projectId: string;
let nodeId: string;
type User = Awaited<ReturnType<typeof register>>;
let alice: User;
let bob: User;
let carol: User;
const sockets: WsClient[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function open(gateway: number, u: User, project = projectId): Promise<WsClient> {
  const ws = await WsClient.open(stack.urls[gateway], u.accessToken);
  sockets.push(ws);
  ws.send({ type: "subscribe", projectId: project });
  await ws.next((f) => f.type === "presence.state" && f.projectId === project);
  return ws;
}
const presenceOf = (ws: WsClient, pred: (f: any) => boolean = () => true) => ws.frames.filter((f) => f.type === "presence" && pred(f));

beforeAll(async () => {
  stack = await startStack({ gateways: 2, gatewayEnv: { PRESENCE_TTL_MS: String(TTL_MS) }, env: { LOCAL_AI_TOKEN_DELAY_MS: "200" } });
  req = client(stack.url);
  [alice, bob, carol] = [await register(req, "alice"), await register(req, "bob"), await register(req, "carol")];
  projectId = (await req("POST", "/api/v1/projects", { token: alice.accessToken, body: { name: "Shared" } })).body.data.id;
  nodeId = (await req("POST", "/api/v1/nodes", { token: alice.accessToken, body: { projectId, title: "Note", content: "some text" } })).body.data.id;
  for (const u of [bob, carol]) await req("PUT", `/api/v1/projects/${projectId}/members/${u.user.id}`, { token: alice.accessToken, body: { role: "editor" } });
}, 60_000);
afterAll(async () => {
  for (const s of sockets) s.close();
  await stack?.close();
});

describe("presence", () => {
  it("reaches users on the other gateway, not the sender; coalesced to at most 20 a second; leaves on unsubscribe", async () => {
    const a = await open(0, alice);
    const b = await open(1, bob);
    a.send({ type: "presence", projectId, cursor: { x: 1, y: 2 }, selection: [nodeId], viewport: { x: 0, y: 0, width: 800, height: 600, zoom: 1.5 }, typing: nodeId });
    const first = await b.next((f) => f.type === "presence" && f.userId === alice.user.id);
    expect(first).toMatchObject({ projectId, kind: "user", username: alice.user.username, cursor: { x: 1, y: 2 }, selection: [nodeId], viewport: { width: 800, zoom: 1.5 }, typing: nodeId });
    expect(first.color).toMatch(/^hsl\(/);

    const started = Date.now();
    for (let i = 1; i <= 200; i++) {
      a.send({ type: "presence", projectId, cursor: { x: i, y: i } });
      if (i % 20 === 0) await sleep(10);
    }
    await b.next((f) => f.type === "presence" && f.cursor?.x === 200);
    const elapsed = Date.now() - started;
    const got = presenceOf(b, (f) => f.userId === alice.user.id).length - 1;
    // 200 updates in `elapsed` ms; at most one per 50 ms (plus the leading one) reaches bob.
    expect(got).toBeLessThanOrEqual(Math.ceil(elapsed / 50) + 1);
    expect(got).toBeLessThan(200);
    expect(presenceOf(a, (f) => f.userId === alice.user.id)).toEqual([]);

    a.send({ type: "unsubscribe", projectId });
    expect(await b.next((f) => f.type === "presence.left" && f.userId === alice.user.id)).toMatchObject({ projectId });
    a.close();
    b.close();
  });

  it("a new subscriber gets presence.state with who is there, also from the other gateway", async () => {
    const a = await open(0, alice);
    const b = await open(0, bob);
    a.send({ type: "presence", projectId, cursor: { x: 5, y: 5 } });
    await b.next((f) => f.type === "presence" && f.userId === alice.user.id);
    // Same gateway: the room is known, so the state lists alice at once.
    const c0 = await open(0, carol);
    const state = c0.frames.find((f) => f.type === "presence.state");
    expect(state.users).toEqual([expect.objectContaining({ userId: alice.user.id, cursor: { x: 5, y: 5 } })]);
    // A gateway with nobody in the room yet asks the others (presence.sync), and alice arrives.
    const c1 = await open(1, carol);
    expect(await c1.next((f) => f.type === "presence" && f.userId === alice.user.id)).toMatchObject({ cursor: { x: 5, y: 5 } });
    // Alice closes her socket: gone for everyone.
    a.close();
    await c1.next((f) => f.type === "presence.left" && f.userId === alice.user.id);
    for (const s of [b, c0, c1]) s.close();
  });

  it("a user idle for the TTL is gone (presence.left); nothing runs or is written while nobody moves", async () => {
    const events = async () => {
      const c = new pg.Client({ connectionString: stack.env.DATABASE_URL });
      await c.connect();
      const { rows } = await c.query("SELECT count(*)::int AS n FROM events");
      await c.end();
      return rows[0].n as number;
    };
    const before = await events();
    const a = await open(0, alice);
    const b = await open(1, bob);
    a.send({ type: "presence", projectId, cursor: { x: 9, y: 9 } });
    const seen = await b.next((f) => f.type === "presence" && f.cursor?.x === 9);
    const left = await b.next((f) => f.type === "presence.left" && f.userId === alice.user.id && b.frames.indexOf(f) > b.frames.indexOf(seen), TTL_MS * 4);
    expect(left).toMatchObject({ projectId });
    // Presence is not an event: no row, no seq.
    expect(await events()).toBe(before);
    a.close();
    b.close();
  });

  it("refuses presence for a project not subscribed and bad fields, naming the field", async () => {
    const a = await open(0, alice);
    a.send({ type: "presence", projectId: crypto.randomUUID(), cursor: { x: 1, y: 1 } });
    expect(await a.next((f) => f.type === "error" && f.details?.field === "projectId")).toMatchObject({ code: "VALIDATION_ERROR" });
    a.send({ type: "presence", projectId, cursor: { x: "left", y: 1 } });
    expect(await a.next((f) => f.type === "error" && f.details?.field === "cursor.x")).toMatchObject({ code: "VALIDATION_ERROR" });
    a.send({ type: "presence", projectId, selection: ["not-an-id"] });
    await a.next((f) => f.type === "error" && f.details?.field === "selection");
    a.close();
  });

  it("a running AI task is a presence of its own on its node, gone when the task ends", async () => {
    const b = await open(1, bob);
    const task = (await req("POST", "/api/v1/ai-tasks", { token: alice.accessToken, body: { projectId, type: "optimize", nodeId } })).body.data;
    const ai = await b.next((f) => f.type === "presence" && f.kind === "ai");
    expect(ai).toMatchObject({ projectId, taskId: task.id, userId: alice.user.id, username: "AI", typing: nodeId });
    await req("POST", `/api/v1/ai-tasks/${task.id}/cancel`, { token: alice.accessToken });
    expect(await b.next((f) => f.type === "presence.left" && f.taskId === task.id)).toMatchObject({ projectId, userId: alice.user.id });
    b.close();
  });
});

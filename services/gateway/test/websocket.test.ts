// WebSocket (docs/api.md#websocket) against a real store, broker, RabbitMQ bus and the outbox relay.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Tokens } from "@sker/kit";
import { loadGatewayConfig } from "../src/start.js";
import { startStack, type Stack } from "@sker/testkit/stack";
import { client, register, type Req } from "@sker/testkit/http";
import { WsClient } from "@sker/testkit/ws";

let stack: Stack;
let req: Req;
let alice: Awaited<ReturnType<typeof register>>;
let bob: Awaited<ReturnType<typeof register>>;
const sockets: WsClient[] = [];
const open = async (token?: string) => {
  const c = await WsClient.open(stack.url, token);
  sockets.push(c);
  return c;
};

beforeAll(async () => {
  stack = await startStack({ gatewayEnv: { WS_AUTH_TIMEOUT_MS: "500", WS_MAX_BUFFERED_BYTES: "65536" } });
  req = client(stack.url);
  alice = await register(req, "wsa");
  bob = await register(req, "wsb");
});
afterAll(async () => {
  for (const s of sockets) s.ws.terminate();
  await stack?.close();
});

async function sharedProject() {
  const p = (await req("POST", "/api/v1/projects", { token: alice.accessToken, body: { name: "live" } })).body.data;
  await req("PUT", `/api/v1/projects/${p.id}/members/${bob.user.id}`, { token: alice.accessToken, body: { role: "editor" } });
  return p.id as string;
}

describe("authentication", () => {
  it("token in the query → authenticated", async () => {
    const c = await open(alice.accessToken);
    expect(await c.next((f) => f.type === "authenticated")).toEqual({ type: "authenticated", userId: alice.user.id });
    c.send({ type: "ping" });
    await c.next((f) => f.type === "pong");
  });

  it("a first authenticate message → authenticated", async () => {
    const c = await open();
    c.send({ type: "authenticate", token: bob.accessToken });
    expect((await c.next((f) => f.type === "authenticated")).userId).toBe(bob.user.id);
  });

  it("a bad token, no token in time, or another message first → UNAUTHENTICATED and close 4401", async () => {
    const bad = await open("not-a-token");
    expect(await bad.next((f) => f.type === "error")).toMatchObject({ code: "UNAUTHENTICATED" });
    expect((await bad.waitClose()).code).toBe(4401);

    const silent = await open();
    expect((await silent.waitClose()).code).toBe(4401);
    expect(silent.frames[0]).toMatchObject({ type: "error", code: "UNAUTHENTICATED" });

    const rude = await open();
    rude.send({ type: "subscribe", projectId: "00000000-0000-4000-8000-000000000000" });
    expect((await rude.waitClose()).code).toBe(4401);
  });
});

describe("subscriptions", () => {
  it("two users on one project each see the other's edits, in seq order", async () => {
    const projectId = await sharedProject();
    const a = await open(alice.accessToken);
    const b = await open(bob.accessToken);
    a.send({ type: "subscribe", projectId });
    b.send({ type: "subscribe", projectId });
    const subA = await a.next((f) => f.type === "subscribed");
    await b.next((f) => f.type === "subscribed");
    expect(subA.projectId).toBe(projectId);

    const n1 = (await req("POST", "/api/v1/nodes", { token: alice.accessToken, body: { projectId, title: "from alice" } })).body.data;
    const n2 = (await req("POST", "/api/v1/nodes", { token: bob.accessToken, body: { projectId, title: "from bob" } })).body.data;
    await req("PATCH", `/api/v1/nodes/${n1.id}`, { token: bob.accessToken, body: { content: "bob was here" } });
    await req("POST", "/api/v1/connections", { token: alice.accessToken, body: { projectId, sourceNodeId: n1.id, targetNodeId: n2.id, type: "related" } });

    for (const c of [a, b]) {
      const evs = await c.waitEvents(projectId, 4);
      expect(evs.map((e) => e.name)).toEqual(["node.created", "node.created", "node.updated", "connection.created"]);
      const seqs = evs.map((e) => e.seq);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
      for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBe(seqs[i - 1] + 1);
      expect(seqs[0]).toBe(subA.seq + 1);
      expect(evs[0].data).toMatchObject({ id: n1.id, title: "from alice" });
      expect(evs[2].data).toMatchObject({ id: n1.id, content: "bob was here" });
    }
    // The live events are encoded once and shared by both sockets: still text frames, each whole.
    for (const c of [a, b]) expect(c.binaryFrames).toBe(0);
    const live = (c: typeof a) => c.frames.filter((f) => f.type === "event" && f.projectId === projectId);
    expect(live(b)).toEqual(live(a));
  });

  it("a client that reconnects with since receives exactly the events it missed", async () => {
    const projectId = await sharedProject();
    const a = await open(alice.accessToken);
    a.send({ type: "subscribe", projectId });
    await a.next((f) => f.type === "subscribed");
    await req("POST", "/api/v1/nodes", { token: alice.accessToken, body: { projectId, title: "one" } });
    const [first] = await a.waitEvents(projectId, 1);
    a.ws.terminate();

    const missed = [];
    for (const title of ["two", "three", "four"]) missed.push((await req("POST", "/api/v1/nodes", { token: bob.accessToken, body: { projectId, title } })).body.data.id);

    const again = await open(alice.accessToken);
    again.send({ type: "subscribe", projectId, since: first.seq });
    const sub = await again.next((f) => f.type === "subscribed");
    expect(sub.seq).toBe(first.seq + 3);
    const evs = await again.waitEvents(projectId, 3);
    expect(evs.map((e) => e.seq)).toEqual([first.seq + 1, first.seq + 2, first.seq + 3]);
    expect(evs.map((e) => e.data.id)).toEqual(missed);
    // Then live, no duplicate across the seam.
    await req("POST", "/api/v1/nodes", { token: bob.accessToken, body: { projectId, title: "five" } });
    const after = await again.waitEvents(projectId, 4);
    expect(after.map((e) => e.seq)).toEqual([first.seq + 1, first.seq + 2, first.seq + 3, first.seq + 4]);
    await new Promise((r) => setTimeout(r, 300));
    expect(again.events(projectId)).toHaveLength(4);
  });

  it("replay and live writes racing the subscribe: every seq once, in order", async () => {
    const projectId = await sharedProject();
    for (let i = 0; i < 5; i++) await req("POST", "/api/v1/nodes", { token: alice.accessToken, body: { projectId, title: `pre${i}` } });
    const c = await open(bob.accessToken);
    const writes = (async () => {
      for (let i = 0; i < 10; i++) await req("POST", "/api/v1/nodes", { token: alice.accessToken, body: { projectId, title: `race${i}` } });
    })();
    c.send({ type: "subscribe", projectId, since: 0 });
    await writes;
    const check = await open(alice.accessToken);
    check.send({ type: "subscribe", projectId });
    const latest = (await check.next((f) => f.type === "subscribed")).seq;
    expect(latest).toBeGreaterThanOrEqual(15);
    await c.waitEvents(projectId, latest);
    await new Promise((r) => setTimeout(r, 300));
    const seqs = c.events(projectId).map((e) => e.seq);
    expect(seqs).toEqual(Array.from({ length: latest }, (_, i) => i + 1));
  });

  it("a non-member's subscribe is refused with NOT_FOUND; unsubscribe stops events", async () => {
    const projectId = await sharedProject();
    const stranger = await register(req, "wss");
    const s = await open(stranger.accessToken);
    s.send({ type: "subscribe", projectId });
    expect(await s.next((f) => f.type === "error")).toMatchObject({ code: "NOT_FOUND", projectId });
    await req("POST", "/api/v1/nodes", { token: alice.accessToken, body: { projectId, title: "hidden" } });
    await new Promise((r) => setTimeout(r, 300));
    expect(s.events(projectId)).toEqual([]);

    const b = await open(bob.accessToken);
    b.send({ type: "subscribe", projectId });
    await b.next((f) => f.type === "subscribed");
    b.send({ type: "unsubscribe", projectId });
    await b.next((f) => f.type === "unsubscribed");
    await req("POST", "/api/v1/nodes", { token: alice.accessToken, body: { projectId, title: "unseen" } });
    await new Promise((r) => setTimeout(r, 300));
    expect(b.events(projectId)).toEqual([]);
  });

  it("malformed messages get an error frame, not a disconnect", async () => {
    const c = await open(alice.accessToken);
    await c.next((f) => f.type === "authenticated");
    c.ws.send("{not json");
    expect(await c.next((f) => f.type === "error")).toMatchObject({ code: "INVALID_JSON" });
    c.send({ type: "subscribe", projectId: "nope" });
    expect(await c.next((f) => f.type === "error" && f.code === "VALIDATION_ERROR")).toBeTruthy();
    c.send({ type: "ping" });
    await c.next((f) => f.type === "pong");
  });

  it("two quick subscribes to one project: one stream, each event once", async () => {
    const projectId = await sharedProject();
    const c = await open(bob.accessToken);
    await c.next((f) => f.type === "authenticated");
    c.send({ type: "subscribe", projectId });
    c.send({ type: "subscribe", projectId });
    await c.next((f) => f.type === "subscribed");
    await new Promise((r) => setTimeout(r, 200));
    expect(c.frames.filter((f) => f.type === "subscribed")).toHaveLength(2);
    await req("POST", "/api/v1/nodes", { token: alice.accessToken, body: { projectId, title: "once" } });
    await c.waitEvents(projectId, 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(c.events(projectId)).toHaveLength(1);
  });

  it("messages are handled in order: an unsubscribe right after a subscribe ends it", async () => {
    const projectId = await sharedProject();
    const c = await open(bob.accessToken);
    await c.next((f) => f.type === "authenticated");
    c.send({ type: "subscribe", projectId });
    c.send({ type: "unsubscribe", projectId });
    await c.next((f) => f.type === "unsubscribed");
    await new Promise((r) => setTimeout(r, 200));
    expect(c.frames.filter((f) => f.type !== "authenticated").map((f) => f.type)).toEqual(["subscribed", "presence.state", "unsubscribed"]);
    await req("POST", "/api/v1/nodes", { token: alice.accessToken, body: { projectId, title: "unseen" } });
    await new Promise((r) => setTimeout(r, 300));
    expect(c.events(projectId)).toEqual([]);
  });
});

describe("losing access", () => {
  it("a member who is removed gets NOT_FOUND for the project and no further events", async () => {
    const projectId = await sharedProject();
    const carol = await register(req, "wsc");
    await req("PUT", `/api/v1/projects/${projectId}/members/${carol.user.id}`, { token: alice.accessToken, body: { role: "viewer" } });
    const b = await open(bob.accessToken);
    b.send({ type: "subscribe", projectId });
    await b.next((f) => f.type === "subscribed");
    // Someone else leaving changes nothing for bob.
    expect((await req("DELETE", `/api/v1/projects/${projectId}/members/${carol.user.id}`, { token: alice.accessToken })).status).toBe(204);
    await b.waitEvents(projectId, 1);
    expect(b.frames.some((f) => f.type === "error")).toBe(false);

    expect((await req("DELETE", `/api/v1/projects/${projectId}/members/${bob.user.id}`, { token: alice.accessToken })).status).toBe(204);
    expect(await b.next((f) => f.type === "error")).toMatchObject({ type: "error", code: "NOT_FOUND", projectId });
    const seen = b.events(projectId).length;
    await req("POST", "/api/v1/nodes", { token: alice.accessToken, body: { projectId, title: "after bob left" } });
    await new Promise((r) => setTimeout(r, 400));
    expect(b.events(projectId)).toHaveLength(seen);
    expect(b.events(projectId).some((e) => e.data?.title === "after bob left")).toBe(false);
  });

  it("a deleted project ends the stream with NOT_FOUND", async () => {
    const projectId = await sharedProject();
    const b = await open(bob.accessToken);
    b.send({ type: "subscribe", projectId });
    await b.next((f) => f.type === "subscribed");
    expect((await req("DELETE", `/api/v1/projects/${projectId}`, { token: alice.accessToken })).status).toBe(204);
    expect(await b.next((f) => f.type === "error")).toMatchObject({ type: "error", code: "NOT_FOUND", projectId });
  });

  it("a member removed and added back replays the removal as history and stays subscribed", async () => {
    const projectId = await sharedProject();
    await req("DELETE", `/api/v1/projects/${projectId}/members/${bob.user.id}`, { token: alice.accessToken });
    await req("PUT", `/api/v1/projects/${projectId}/members/${bob.user.id}`, { token: alice.accessToken, body: { role: "editor" } });
    const b = await open(bob.accessToken);
    b.send({ type: "subscribe", projectId, since: 0 });
    const sub = await b.next((f) => f.type === "subscribed");
    await b.waitEvents(projectId, sub.seq);
    await req("POST", "/api/v1/nodes", { token: alice.accessToken, body: { projectId, title: "still here" } });
    await b.waitEvents(projectId, sub.seq + 1);
    expect(b.frames.some((f) => f.type === "error")).toBe(false);
  });

  it("the socket closes with 4401 when its access token expires", async () => {
    const cfg = loadGatewayConfig(stack.env);
    const tokens = new Tokens(cfg);
    const short = await tokens.signAccess({ id: bob.user.id, email: bob.user.email, username: bob.user.username }, 2);
    const b = await open(short);
    await b.next((f) => f.type === "authenticated");
    const closed = await b.waitClose(5000);
    expect(closed.code).toBe(4401);
    expect(b.frames.at(-1)).toMatchObject({ type: "error", code: "UNAUTHENTICATED" });
  });

  it("a fresh token sent on the socket moves the expiry", async () => {
    const cfg = loadGatewayConfig(stack.env);
    const tokens = new Tokens(cfg);
    const who = { id: bob.user.id, email: bob.user.email, username: bob.user.username };
    const b = await open(await tokens.signAccess(who, 2));
    await b.next((f) => f.type === "authenticated");
    b.send({ type: "authenticate", token: await tokens.signAccess(who, 60) });
    await b.next((f) => f.type === "authenticated" && b.frames.filter((x) => x.type === "authenticated").length === 2);
    await new Promise((r) => setTimeout(r, 2500));
    expect(b.closed).toBeUndefined();
    b.send({ type: "ping" });
    await b.next((f) => f.type === "pong");
  });
});

describe("AI_GENERATE over the socket", () => {
  it("REQUEST → PROGRESS … → RESPONSE with the node written", async () => {
    const projectId = await sharedProject();
    const c = await open(alice.accessToken);
    await c.next((f) => f.type === "authenticated");
    c.send({ type: "AI_GENERATE_REQUEST", requestId: "r1", projectId, taskType: "generate", prompt: "owls at night" });
    const progress = await c.next((f) => f.type === "AI_GENERATE_PROGRESS" && f.requestId === "r1");
    expect(progress.taskId).toBeTruthy();
    const res = await c.next((f) => (f.type === "AI_GENERATE_RESPONSE" || f.type === "AI_GENERATE_ERROR") && f.requestId === "r1", 20_000);
    expect(res.type, JSON.stringify(res)).toBe("AI_GENERATE_RESPONSE");
    expect(res.taskId).toBe(progress.taskId);
    const node = await req("GET", `/api/v1/nodes/${res.nodeId}`, { token: alice.accessToken });
    expect(node.status).toBe(200);
    expect(c.frames.some((f) => f.type === "AI_GENERATE_PROGRESS" && typeof f.delta === "string" && f.delta.length > 0)).toBe(true);
  });

  it("bad requests and non-members get AI_GENERATE_ERROR", async () => {
    const projectId = await sharedProject();
    const c = await open(alice.accessToken);
    c.send({ type: "AI_GENERATE_REQUEST", requestId: "bad1", projectId, taskType: "generate" });
    expect(await c.next((f) => f.type === "AI_GENERATE_ERROR" && f.requestId === "bad1")).toMatchObject({ error: { code: "VALIDATION_ERROR" } });
    c.send({ type: "AI_GENERATE_REQUEST", requestId: "bad2", projectId, prompt: "x", extra: 1 });
    expect(await c.next((f) => f.type === "AI_GENERATE_ERROR" && f.requestId === "bad2")).toMatchObject({ error: { code: "VALIDATION_ERROR" } });
    // The same body gets the same error over the socket as over REST.
    for (const [id, body] of [["bad3", { projectId, type: "generate" }], ["bad4", { projectId, type: "generate", prompt: "x", extra: 1 }]] as const) {
      const rest = (await req("POST", "/api/v1/ai-tasks", { token: alice.accessToken, body })).body.error;
      const { type: taskType, ...fields } = body;
      c.send({ type: "AI_GENERATE_REQUEST", requestId: id, taskType, ...fields });
      const ws = (await c.next((f) => f.type === "AI_GENERATE_ERROR" && f.requestId === id)).error;
      expect(ws).toEqual(rest);
    }
    const stranger = await register(req, "wsx");
    const s = await open(stranger.accessToken);
    s.send({ type: "AI_GENERATE_REQUEST", requestId: "nm", projectId, prompt: "x" });
    expect(await s.next((f) => f.type === "AI_GENERATE_ERROR" && f.requestId === "nm")).toMatchObject({ error: { code: "NOT_FOUND" } });
  });
});

describe("shutdown", () => {
  it("closes sockets with 1001", async () => {
    const { loadGatewayConfig, startGateway } = await import("../src/start.js");
    const gw = await startGateway(loadGatewayConfig(stack.env));
    const c = await WsClient.open(`http://127.0.0.1:${gw.port}`, alice.accessToken);
    await c.next((f) => f.type === "authenticated");
    const closing = gw.shutdown();
    expect((await c.waitClose()).code).toBe(1001);
    await closing;
  });
});

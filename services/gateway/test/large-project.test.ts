import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "@sker/testkit/stack";
import { client, register, type Req } from "@sker/testkit/http";
import { WsClient } from "@sker/testkit/ws";

// A project at the documented limit (50 MB of content: 500 nodes of 100,000 characters) opens
// through REST (the whole graph, and every page of GET /nodes) and replays through the
// WebSocket: nothing is capped by the services' gRPC message size, nothing answers 429.

const NODES = 500;
const CHARS = 100_000;

let stack: Stack;
let req: Req;
let token: string;
let projectId: string;

beforeAll(async () => {
  stack = await startStack({ gatewayEnv: { RATE_LIMIT_PER_USER: "100000" } });
  req = client(stack.url);
  token = (await register(req, "big")).accessToken;
  projectId = (await req("POST", "/api/v1/projects", { token, body: { name: "At the limit" } })).body.data.id;
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < NODES) {
        const i = next++;
        const content = `${i} `.padEnd(CHARS, "x");
        const res = await req("POST", "/api/v1/nodes", { token, body: { projectId, title: `Node ${i}`, content } });
        if (res.status !== 201) throw new Error(`create ${i}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
      }
    }),
  );
}, 300_000);
afterAll(async () => {
  await stack?.close();
});

describe("a project at the documented limit", () => {
  it("opens whole through GET /projects/:id/graph", async () => {
    const res = await req("GET", `/api/v1/projects/${projectId}/graph`, { token });
    expect(res.status).toBe(200);
    const nodes = res.body.data.nodes as { content: string }[];
    expect(nodes).toHaveLength(NODES);
    const chars = nodes.reduce((n, x) => n + x.content.length, 0);
    console.log(`graph: ${nodes.length} nodes, ${chars} chars of content`);
    expect(chars).toBe(NODES * CHARS);
    expect(res.body.data.connections).toEqual([]);
  }, 120_000);

  it("a client that leaves after the first bytes: the gateway drops the stream and keeps serving", async () => {
    for (let i = 0; i < 3; i++) {
      const abort = new AbortController();
      const res = await fetch(`${stack.url}/api/v1/projects/${projectId}/graph`, { headers: { authorization: `Bearer ${token}` }, signal: abort.signal });
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      const first = await reader.read();
      expect(new TextDecoder().decode(first.value)).toMatch(/^\{"success":true,"data":\{"nodes":\[/);
      abort.abort();
      await reader.cancel().catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 500));
    const again = await req("GET", `/api/v1/projects/${projectId}/graph`, { token });
    expect(again.status).toBe(200);
    expect(again.body.data.nodes).toHaveLength(NODES);
  }, 120_000);

  it("pages through GET /nodes: pages cut by bytes, each with a cursor, every node once", async () => {
    const ids = new Set<string>();
    let cursor = "";
    let pages = 0;
    do {
      const res = await req("GET", `/api/v1/nodes?projectId=${projectId}&limit=500${cursor ? `&cursor=${cursor}` : ""}`, { token });
      expect(res.status).toBe(200);
      for (const n of res.body.data.items) ids.add(n.id);
      cursor = res.body.data.nextCursor ?? "";
      pages++;
    } while (cursor);
    console.log(`GET /nodes: ${ids.size} nodes in ${pages} pages`);
    expect(ids.size).toBe(NODES);
    expect(pages).toBeGreaterThan(1);
  }, 120_000);

  it("replays every event through subscribe {since: 0} without closing the socket", async () => {
    const ws = await WsClient.open(stack.url, token);
    try {
      ws.send({ type: "subscribe", projectId, since: 0 });
      const subscribed = await ws.next((f) => f.type === "subscribed");
      const events = await ws.waitEvents(projectId, subscribed.seq, 120_000);
      expect(events.map((e) => e.seq)).toEqual(Array.from({ length: subscribed.seq }, (_, i) => i + 1));
      expect(events.filter((e) => e.name === "node.created")).toHaveLength(NODES);
      expect(ws.closed).toBeUndefined();
      console.log(`replay: ${events.length} events`);
    } finally {
      ws.close();
    }
  }, 180_000);
});

// Bounded JSON and clean text (issue #9): NUL and lone surrogates are a 400 naming the field on
// every door (REST, public /auth routes, the WebSocket AI request, the store over gRPC); free
// JSON has a depth and a byte limit at the gateway and again in the store; and whatever the
// store accepted replays through ListEvents and WebSocket subscribe {since: 0}.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JSON_DEPTH, LIMITS } from "@sker/contracts/limits";
import { startStack, type Stack } from "@sker/testkit/stack";
import { client, register, type Req } from "@sker/testkit/http";
import { directClients, type Direct } from "./support/grpc.js";
import { WsClient } from "@sker/testkit/ws";

let stack: Stack;
let req: Req;
let direct: Direct;
let user: Awaited<ReturnType<typeof register>>;
let token: string;
let projectId: string;
let nodeId: string;

beforeAll(async () => {
  stack = await startStack();
  req = client(stack.url);
  direct = directClients(stack);
  user = await register(req, "bi");
  token = user.accessToken;
  projectId = (await req("POST", "/api/v1/projects", { token, body: { name: "bounded" } })).body.data.id;
  nodeId = (await req("POST", "/api/v1/nodes", { token, body: { projectId, title: "n" } })).body.data.id;
}, 60_000);
afterAll(async () => stack?.close());

/** `{"d":{"d":…{"d":leaf}}}`, `depth` levels of objects. */
function nested(depth: number, leaf: unknown = 1): Record<string, unknown> {
  let v: unknown = leaf;
  for (let i = 0; i < depth; i++) v = { d: v };
  return v as Record<string, unknown>;
}

/** The deepest object the limits allow whose JSON text is exactly `bytes` long. */
function deepestAndLargest(bytes: number): Record<string, unknown> {
  const shell = Buffer.byteLength(JSON.stringify(nested(JSON_DEPTH, "")));
  const value = nested(JSON_DEPTH, "x".repeat(bytes - shell));
  expect(Buffer.byteLength(JSON.stringify(value))).toBe(bytes);
  return value;
}

const NUL = "a\u0000b";
const LONE = "a\ud800b";

describe("text that cannot be stored is a 400 naming the field", () => {
  it("POST /auth/login with a NUL in the email is 400 VALIDATION_ERROR naming email (was 500)", async () => {
    const res = await req("POST", "/api/v1/auth/login", { body: { email: "a\u0000@x.io", password: "whatever1" } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("VALIDATION_ERROR");
    expect(res.body.error.details.field).toBe("email");
  });

  const cases: [string, string, () => string, (s: string) => unknown, string][] = [
    ["register username", "POST", () => "/api/v1/auth/register", (s) => ({ email: "nul@example.com", username: s, password: "password1" }), "username"],
    ["register password", "POST", () => "/api/v1/auth/register", (s) => ({ email: "nul@example.com", username: "nuluser", password: `password${s}` }), "password"],
    ["refresh token", "POST", () => "/api/v1/auth/refresh", (s) => ({ refreshToken: s }), "refreshToken"],
    ["project name", "POST", () => "/api/v1/projects", (s) => ({ name: s }), "name"],
    ["node title", "POST", () => "/api/v1/nodes", (s) => ({ projectId, title: s }), "title"],
    ["node content", "PATCH", () => `/api/v1/nodes/${nodeId}`, (s) => ({ content: s }), "content"],
    ["a tag", "PATCH", () => `/api/v1/nodes/${nodeId}`, (s) => ({ tags: ["ok", s] }), "tags[1]"],
    ["a metadata value", "PATCH", () => `/api/v1/nodes/${nodeId}`, (s) => ({ metadata: { notes: [{ text: s }] } }), "metadata.notes[0].text"],
    ["a metadata key", "PATCH", () => `/api/v1/nodes/${nodeId}`, (s) => ({ metadata: { [s]: 1 } }), "metadata"],
    ["canvasData", "PATCH", () => `/api/v1/projects/${projectId}`, (s) => ({ canvasData: { viewport: s } }), "canvasData.viewport"],
    ["display name", "PATCH", () => "/api/v1/users/me", (s) => ({ displayName: s }), "displayName"],
    ["API key name", "POST", () => "/api/v1/api-keys", (s) => ({ name: s }), "name"],
    ["task prompt", "POST", () => "/api/v1/ai-tasks", (s) => ({ projectId, type: "generate", prompt: s }), "prompt"],
  ];
  for (const [what, method, path, body, field] of cases) {
    for (const [kind, s] of [["NUL", NUL], ["lone surrogate", LONE]]) {
      it(`${kind} in ${what} → 400 naming ${field}, nothing written`, async () => {
        const before = await seq();
        const res = await req(method, path(), { token, body: body(s) });
        expect(res.status, JSON.stringify(res.body)).toBe(400);
        expect(res.body.error.code).toBe("VALIDATION_ERROR");
        expect(res.body.error.details.field).toBe(field);
        expect(await seq()).toBe(before);
      });
    }
  }

  it("NUL in a query string (search, tag filter) is 400 naming the parameter", async () => {
    for (const q of ["q", "tag"]) {
      const res = await req("GET", `/api/v1/nodes?projectId=${projectId}&${q}=a%00b`, { token });
      expect(res.status).toBe(400);
      expect(res.body.error.details.field).toBe(q);
    }
  });

  it("a surrogate pair (an emoji) is text like any other and is stored intact", async () => {
    const res = await req("POST", "/api/v1/nodes", { token, body: { projectId, title: "owl 🦉", tags: ["🦉"], metadata: { "🦉": "🌙" } } });
    expect(res.status).toBe(201);
    const back = (await req("GET", `/api/v1/nodes/${res.body.data.id}`, { token })).body.data;
    expect([back.title, back.tags, back.metadata]).toEqual(["owl 🦉", ["🦉"], { "🦉": "🌙" }]);
  });

  it("the WebSocket AI request with a NUL prompt answers AI_GENERATE_ERROR VALIDATION_ERROR naming prompt", async () => {
    const ws = await WsClient.open(stack.url, token);
    ws.send({ type: "AI_GENERATE_REQUEST", requestId: "nul", projectId, taskType: "generate", prompt: NUL });
    const res = await ws.next((f) => f.requestId === "nul");
    ws.close();
    expect(res.type).toBe("AI_GENERATE_ERROR");
    expect(res.error.code).toBe("VALIDATION_ERROR");
    expect(res.error.details.field).toBe("prompt");
  });

  // Over gRPC a lone surrogate cannot even travel (protobuf strings are UTF-8: the encoder sends
  // U+FFFD), so the store's own check is about NUL.
  it("the store refuses NUL over gRPC (INVALID_ARGUMENT naming the field), for callers that skip the gateway", async () => {
    await expect(direct.nodes.createNode({ projectId, title: NUL }, { token })).rejects.toMatchObject({ code: "VALIDATION_ERROR", details: { field: "title" } });
    await expect(direct.projects.updateProject({ id: projectId, canvasData: { ok: { [NUL]: 1 } } }, { token })).rejects.toMatchObject({ code: "VALIDATION_ERROR", details: { field: "canvasData.ok" } });
    await expect(direct.users.login({ login: "a\u0000@x.io", password: "whatever1" }, { token: await direct.serviceToken("gateway") })).rejects.toMatchObject({
      code: "VALIDATION_ERROR",
      details: { field: "login" },
    });
    await expect(direct.broker.submitTask({ projectId, type: "TASK_TYPE_GENERATE", prompt: NUL }, { token })).rejects.toMatchObject({ code: "VALIDATION_ERROR", details: { field: "prompt" } });
  });
});

describe("free JSON has a depth and a byte limit, at the gateway and in the store", () => {
  it(`metadata and canvasData nested 32 deep are 400 naming the field (were 201/200); ${JSON_DEPTH} deep is accepted`, async () => {
    const before = await seq();
    for (const depth of [JSON_DEPTH + 1, 32, 200]) {
      const node = await req("POST", "/api/v1/nodes", { token, body: { projectId, title: "deep", metadata: nested(depth) } });
      expect(node.status).toBe(400);
      expect(node.body.error.details.field).toBe("metadata");
      const project = await req("PATCH", `/api/v1/projects/${projectId}`, { token, body: { canvasData: nested(depth) } });
      expect(project.status).toBe(400);
      expect(project.body.error.details.field).toBe("canvasData");
    }
    // Too deep for JSON.stringify's recursion (the fuzz test found this one as a 500).
    const raw = `{"projectId":"${projectId}","title":"deep","metadata":${'{"d":'.repeat(60_000)}1${"}".repeat(60_000)}}`;
    const deepest = await req("POST", "/api/v1/nodes", { token, raw });
    expect(deepest.status).toBe(400);
    expect(deepest.body.error.details.field).toBe("metadata");
    expect(await seq()).toBe(before);
    expect((await req("POST", "/api/v1/nodes", { token, body: { projectId, title: "deep", metadata: nested(JSON_DEPTH) } })).status).toBe(201);
  });

  it("a whole document nested 60,000 deep (an import, whose schema is open) is 400 naming where, not 500", async () => {
    const raw = `{"nodes":[],"edges":[],"extra":${"[".repeat(60_000)}${"]".repeat(60_000)}}`;
    const res = await req("POST", "/api/v1/projects/import", { token, raw });
    expect(res.status).toBe(400);
    expect(res.body.error.details.field).toBe("extra");
  });

  it("one byte over each JSON field's byte limit is 400 naming it", async () => {
    const over: [string, string, Record<string, unknown>, string][] = [
      ["PATCH", `/api/v1/nodes/${nodeId}`, { metadata: deepestAndLargest(LIMITS.node.metadataBytes + 1) }, "metadata"],
      ["PATCH", `/api/v1/projects/${projectId}`, { canvasData: deepestAndLargest(LIMITS.project.canvasDataBytes + 1) }, "canvasData"],
      ["PATCH", `/api/v1/projects/${projectId}`, { settings: deepestAndLargest(LIMITS.project.settingsBytes + 1) }, "settings"],
      ["PATCH", "/api/v1/users/me", { settings: deepestAndLargest(LIMITS.user.settingsBytes + 1) }, "settings"],
    ];
    for (const [method, path, body, field] of over) {
      const res = await req(method, path, { token, body });
      expect(res.status, path).toBe(400);
      expect(res.body.error.details.field).toBe(field);
    }
  });

  it("the store holds the same limits over gRPC; JSON too deep for protobuf to decode is INVALID_ARGUMENT, not INTERNAL", async () => {
    await expect(direct.nodes.createNode({ projectId, title: "t", metadata: nested(JSON_DEPTH + 1) }, { token })).rejects.toMatchObject({ code: "VALIDATION_ERROR", details: { field: "metadata" } });
    await expect(direct.projects.updateProject({ id: projectId, settings: deepestAndLargest(LIMITS.project.settingsBytes + 1) }, { token })).rejects.toMatchObject({
      code: "VALIDATION_ERROR",
      details: { field: "settings" },
    });
    await expect(direct.nodes.createNode({ projectId, title: "t", metadata: nested(40) }, { token })).rejects.toMatchObject({ code: "VALIDATION_ERROR", details: { field: "request" } });
  });
});

describe("whatever the store accepts, its events read back", () => {
  it("the deepest and largest accepted metadata, canvasData and settings replay through ListEvents and subscribe {since: 0}", async () => {
    const p = (await req("POST", "/api/v1/projects", { token, body: { name: "replay", settings: deepestAndLargest(LIMITS.project.settingsBytes) } })).body.data.id;
    const canvas = await req("PATCH", `/api/v1/projects/${p}`, { token, body: { canvasData: deepestAndLargest(LIMITS.project.canvasDataBytes) } });
    expect(canvas.status).toBe(200);
    const node = await req("POST", "/api/v1/nodes", { token, body: { projectId: p, title: "big", metadata: deepestAndLargest(LIMITS.node.metadataBytes) } });
    expect(node.status).toBe(201);
    const patched = await req("PATCH", `/api/v1/nodes/${node.body.data.id}`, { token, body: { metadata: deepestAndLargest(LIMITS.node.metadataBytes), content: "x".repeat(LIMITS.node.content) } });
    expect(patched.status).toBe(200);

    const listed = await direct.events.listEvents({ projectId: p, afterSeq: 0 }, { token });
    const names = listed.events.map((e) => e.name);
    expect(names).toEqual(["project.updated", "node.created", "node.updated"]);
    expect((listed.events[0].payload?.resource?.value as any).canvasData).toEqual(canvas.body.data.canvasData);
    expect((listed.events[1].payload?.resource?.value as any).metadata).toEqual(node.body.data.metadata);
    expect((listed.events[2].payload?.resource?.value as any).content).toBe(patched.body.data.content);

    const ws = await WsClient.open(stack.url, token);
    ws.send({ type: "subscribe", projectId: p, since: 0 });
    const replayed = await ws.waitEvents(p, 3, 20_000);
    ws.close();
    expect(replayed.map((e) => e.name)).toEqual(names);
    expect(replayed[0].data.canvasData).toEqual(canvas.body.data.canvasData);
    expect(replayed[0].data.settings).toEqual(canvas.body.data.settings);
    expect(replayed[2].data.metadata).toEqual(patched.body.data.metadata);
  }, 60_000);
});

async function seq(): Promise<number> {
  return (await direct.events.listEvents({ projectId, afterSeq: 0 }, { token })).latestSeq;
}

// Search, activity, export/import, duplicate and retry over HTTP, against a real store and broker.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "@sker/testkit/stack";
import { client, register, type Req } from "@sker/testkit/http";

let stack: Stack;
let req: Req;
let alice: Awaited<ReturnType<typeof register>>;
let bob: Awaited<ReturnType<typeof register>>;
let projectId: string;
let nodeId: string;

beforeAll(async () => {
  // Slow local AI tokens (10 s a token): a task is still running when it is cancelled.
  stack = await startStack({ env: { LOCAL_AI_TOKEN_DELAY_MS: "10000" } });
  req = client(stack.url);
  alice = await register(req, "alice");
  bob = await register(req, "bob");
  projectId = (await req("POST", "/api/v1/projects", { token: alice.accessToken, body: { name: "Canvas" } })).body.data.id;
  nodeId = (await req("POST", "/api/v1/nodes", { token: alice.accessToken, body: { projectId, title: "Launch plan", content: "启动计划：下周发布 beta", position: { x: 10, y: 20 } } })).body.data.id;
  await req("PUT", `/api/v1/projects/${projectId}/members/${bob.user.id}`, { token: alice.accessToken, body: { role: "viewer" } });
}, 60_000);
afterAll(async () => stack?.close());

const expectField = (res: { status: number; body: any }, status: number, code: string, field: string) => {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body.error).toMatchObject({ code, details: { field } });
};

describe("search", () => {
  it("answers hits with node id, project name, snippet and highlights, in English and Chinese", async () => {
    for (const q of ["launch", "发布"]) {
      const res = await req("GET", `/api/v1/search?q=${encodeURIComponent(q)}`, { token: bob.accessToken });
      expect(res.status).toBe(200);
      expect(res.body.data.items).toHaveLength(1);
      const hit = res.body.data.items[0];
      expect(hit).toMatchObject({ nodeId, projectId, projectName: "Canvas", title: "Launch plan" });
      expect(hit.snippet.slice(hit.highlights[0].start, hit.highlights[0].end).toLowerCase()).toBe(q);
    }
    const stranger = await register(req, "eve");
    expect((await req("GET", "/api/v1/search?q=launch", { token: stranger.accessToken })).body.data.items).toEqual([]);
  });

  it("400 without q; 401 without a token", async () => {
    expectField(await req("GET", "/api/v1/search", { token: bob.accessToken }), 400, "VALIDATION_ERROR", "q");
    expect((await req("GET", "/api/v1/search?q=x")).status).toBe(401);
  });
});

describe("activity", () => {
  it("pages the history newest first with actors and usernames", async () => {
    const res = await req("GET", `/api/v1/projects/${projectId}/activity?limit=1`, { token: bob.accessToken });
    expect(res.status).toBe(200);
    expect(res.body.data.items[0]).toMatchObject({ name: "member.updated", actor: { userId: alice.user.id }, username: alice.user.username });
    const next = await req("GET", `/api/v1/projects/${projectId}/activity?limit=1&cursor=${res.body.data.nextCursor}`, { token: bob.accessToken });
    expect(next.body.data.items[0]).toMatchObject({ name: "node.created", actor: { userId: alice.user.id } });
    expect(next.body.data.items[0].seq).toBeLessThan(res.body.data.items[0].seq);
  });
});

describe("export, import, duplicate", () => {
  it("exports a downloadable file in both formats, and importing it makes a project the importer owns", async () => {
    for (const format of ["jsoncanvas", "sker"]) {
      const file = await req("GET", `/api/v1/projects/${projectId}/export?format=${format}`, { token: bob.accessToken });
      expect(file.status).toBe(200);
      expect(file.headers.get("content-disposition")).toContain("attachment");
      expect(file.body.nodes).toHaveLength(1);
      const imported = await req("POST", "/api/v1/projects/import", { token: bob.accessToken, body: file.body });
      expect(imported.status, JSON.stringify(imported.body)).toBe(201);
      expect(imported.body.data.role).toBe("owner");
      const graph = await req("GET", `/api/v1/projects/${imported.body.data.id}/graph`, { token: bob.accessToken });
      expect(graph.body.data.nodes).toMatchObject([{ title: "Launch plan", content: "启动计划：下周发布 beta", position: { x: 10, y: 20 } }]);
      expect(graph.body.data.nodes[0].id).not.toBe(nodeId);
    }
  });

  it("a bad file is a 400 naming the field", async () => {
    const res = await req("POST", "/api/v1/projects/import?format=jsoncanvas", { token: bob.accessToken, body: { nodes: [{ id: "a", type: "text", x: "left", y: 0, width: 1, height: 1, text: "" }] } });
    expectField(res, 400, "VALIDATION_ERROR", "nodes[0].x");
  });

  it("duplicate answers 201 with the copy; a stranger gets 404", async () => {
    const copy = await req("POST", `/api/v1/projects/${projectId}/duplicate`, { token: bob.accessToken, body: { name: "Mine now" } });
    expect(copy.status).toBe(201);
    expect(copy.body.data).toMatchObject({ name: "Mine now", role: "owner" });
    const eve = await register(req, "eve");
    expect((await req("POST", `/api/v1/projects/${projectId}/duplicate`, { token: eve.accessToken })).status).toBe(404);
    expect((await req("GET", `/api/v1/projects/${projectId}/export`, { token: eve.accessToken })).status).toBe(404);
  });
});

describe("retry", () => {
  it("retries a cancelled task with the same input (retryOf); a viewer gets 403", async () => {
    const submitted = await req("POST", "/api/v1/ai-tasks", { token: alice.accessToken, body: { projectId, type: "optimize", nodeId } });
    expect(submitted.status).toBe(202);
    const id = submitted.body.data.id;
    expect((await req("POST", `/api/v1/ai-tasks/${id}/cancel`, { token: alice.accessToken })).status).toBe(200);
    expect((await req("POST", `/api/v1/ai-tasks/${id}/retry`, { token: bob.accessToken })).status).toBe(403);
    const retry = await req("POST", `/api/v1/ai-tasks/${id}/retry`, { token: alice.accessToken });
    expect(retry.status, JSON.stringify(retry.body)).toBe(202);
    expect(retry.body.data).toMatchObject({ retryOf: id, type: "optimize", nodeId, status: "queued" });
    expect(retry.body.data.id).not.toBe(id);
    await req("POST", `/api/v1/ai-tasks/${retry.body.data.id}/cancel`, { token: alice.accessToken });
  });

  it("a task that is not failed or cancelled is 409 FAILED_PRECONDITION", async () => {
    const submitted = await req("POST", "/api/v1/ai-tasks", { token: alice.accessToken, body: { projectId, type: "generate", prompt: "hello" } });
    const res = await req("POST", `/api/v1/ai-tasks/${submitted.body.data.id}/retry`, { token: alice.accessToken });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe("FAILED_PRECONDITION");
    await req("POST", `/api/v1/ai-tasks/${submitted.body.data.id}/cancel`, { token: alice.accessToken });
  });

  it("an unknown task is 404", async () => {
    expect((await req("POST", `/api/v1/ai-tasks/${crypto.randomUUID()}/retry`, { token: alice.accessToken })).status).toBe(404);
  });
});

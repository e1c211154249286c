// The REST contract of docs/api.md, route by route, against a real store and broker.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "@sker/testkit/stack";
import { client, register, type Req } from "@sker/testkit/http";
import { tokenIn } from "@sker/testkit/mailbox";

let stack: Stack;
let req: Req;
let alice: Awaited<ReturnType<typeof register>>;
let bob: Awaited<ReturnType<typeof register>>;

beforeAll(async () => {
  stack = await startStack();
  req = client(stack.url);
  alice = await register(req, "alice");
  bob = await register(req, "bob");
});
afterAll(async () => stack?.close());

const expectError = (res: { status: number; body: any }, status: number, code: string) => {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body.success).toBe(false);
  expect(res.body.error.code).toBe(code);
  expect(typeof res.body.requestId).toBe("string");
};

describe("auth", () => {
  it("register answers 201 with a session; duplicates are 409; bad fields are 400 naming them", async () => {
    const email = `carol${Date.now()}@example.com`;
    const res = await req("POST", "/api/v1/auth/register", { body: { email, username: `carol${Date.now() % 1e6}`, password: "long enough" } });
    expect(res.status).toBe(201);
    expect(res.body.success).toBe(true);
    expect(res.body.data).toMatchObject({ user: { email }, tokenType: "Bearer" });
    expect(res.body.data.accessToken.split(".")).toHaveLength(3);
    expect(res.body.data.refreshToken).toBeTruthy();
    expect(res.body.data.expiresIn).toBeGreaterThan(0);
    expect(res.body.data.user.password).toBeUndefined();

    expectError(await req("POST", "/api/v1/auth/register", { body: { email, username: "someoneelse", password: "long enough" } }), 409, "CONFLICT");
    const badName = await req("POST", "/api/v1/auth/register", { body: { email: "x@example.com", username: "a!", password: "long enough" } });
    expectError(badName, 400, "VALIDATION_ERROR");
    expect(badName.body.error.details.field).toBe("username");
    const short = await req("POST", "/api/v1/auth/register", { body: { email: "y@example.com", username: "yyyy", password: "short" } });
    expect(short.body.error.details.field).toBe("password");
  });

  it("login by email or username; wrong password is 401", async () => {
    const byEmail = await req("POST", "/api/v1/auth/login", { body: { email: alice.user.email, password: alice.password } });
    expect(byEmail.status).toBe(200);
    expect(byEmail.body.data.user.id).toBe(alice.user.id);
    const byName = await req("POST", "/api/v1/auth/login", { body: { username: alice.user.username, password: alice.password } });
    expect(byName.status).toBe(200);
    expectError(await req("POST", "/api/v1/auth/login", { body: { email: alice.user.email, password: "wrong password" } }), 401, "UNAUTHENTICATED");
    expectError(await req("POST", "/api/v1/auth/login", { body: { password: "x" } }), 400, "VALIDATION_ERROR");
  });

  it("refresh rotates; a spent refresh token revokes its family; logout answers 204", async () => {
    const s = await register(req, "rot");
    const r1 = await req("POST", "/api/v1/auth/refresh", { body: { refreshToken: s.refreshToken } });
    expect(r1.status).toBe(200);
    expect(r1.body.data.refreshToken).not.toBe(s.refreshToken);
    // Reuse of the spent one: 401, and the family (including the new token) is revoked.
    expectError(await req("POST", "/api/v1/auth/refresh", { body: { refreshToken: s.refreshToken } }), 401, "UNAUTHENTICATED");
    expectError(await req("POST", "/api/v1/auth/refresh", { body: { refreshToken: r1.body.data.refreshToken } }), 401, "UNAUTHENTICATED");

    const s2 = await register(req, "out");
    expect((await req("POST", "/api/v1/auth/logout", { body: { refreshToken: s2.refreshToken } })).status).toBe(204);
    expectError(await req("POST", "/api/v1/auth/refresh", { body: { refreshToken: s2.refreshToken } }), 401, "UNAUTHENTICATED");
  });
});

describe("users and api keys", () => {
  it("GET and PATCH /users/me", async () => {
    const me = await req("GET", "/api/v1/users/me", { token: alice.accessToken });
    expect(me.status).toBe(200);
    expect(me.body.data).toMatchObject({ id: alice.user.id, email: alice.user.email });
    const patched = await req("PATCH", "/api/v1/users/me", { token: alice.accessToken, body: { displayName: "Alice A.", settings: { theme: "dark" } } });
    expect(patched.status).toBe(200);
    expect(patched.body.data).toMatchObject({ displayName: "Alice A.", settings: { theme: "dark" } });
    expectError(await req("PATCH", "/api/v1/users/me", { token: alice.accessToken, body: { email: "new@example.com" } }), 400, "VALIDATION_ERROR");
    expectError(await req("GET", "/api/v1/users/me"), 401, "UNAUTHENTICATED");
  });

  it("API keys: created once with the key, listed without it, usable as X-API-Key, deleted → 401", async () => {
    const created = await req("POST", "/api/v1/api-keys", { token: alice.accessToken, body: { name: "ci" } });
    expect(created.status).toBe(201);
    const key = created.body.data.key as string;
    expect(key).toBeTruthy();
    const list = await req("GET", "/api/v1/api-keys", { token: alice.accessToken });
    expect(list.status).toBe(200);
    const listed = list.body.data.items.find((k: any) => k.id === created.body.data.id);
    expect(listed.name).toBe("ci");
    expect(listed.key).toBeUndefined();
    const me = await req("GET", "/api/v1/users/me", { apiKey: key });
    expect(me.status).toBe(200);
    expect(me.body.data.id).toBe(alice.user.id);
    expectError(await req("GET", "/api/v1/users/me", { apiKey: key + "x" }), 401, "UNAUTHENTICATED");
    expect((await req("DELETE", `/api/v1/api-keys/${created.body.data.id}`, { token: alice.accessToken })).status).toBe(204);
    expectError(await req("GET", "/api/v1/users/me", { apiKey: key }), 401, "UNAUTHENTICATED");
    expectError(await req("DELETE", `/api/v1/api-keys/${created.body.data.id}`, { token: alice.accessToken }), 404, "NOT_FOUND");
  });
});

describe("projects, members, graph", () => {
  it("create, get, list with paging, patch, delete", async () => {
    const created = await req("POST", "/api/v1/projects", { token: alice.accessToken, body: { name: "Canvas", description: "d", settings: { a: 1 } } });
    expect(created.status).toBe(201);
    const p = created.body.data;
    expect(p).toMatchObject({ name: "Canvas", description: "d", status: "active", role: "owner", settings: { a: 1 } });
    expect(p.createdAt).toMatch(/^\d{4}-/);
    const got = await req("GET", `/api/v1/projects/${p.id}`, { token: alice.accessToken });
    expect(got.body.data.id).toBe(p.id);

    for (let i = 0; i < 3; i++) await req("POST", "/api/v1/projects", { token: alice.accessToken, body: { name: `P${i}` } });
    const page1 = await req("GET", "/api/v1/projects?limit=2", { token: alice.accessToken });
    expect(page1.status).toBe(200);
    expect(page1.body.data.items).toHaveLength(2);
    expect(page1.body.data.nextCursor).toBeTruthy();
    const page2 = await req("GET", `/api/v1/projects?limit=2&cursor=${encodeURIComponent(page1.body.data.nextCursor)}`, { token: alice.accessToken });
    expect(page2.body.data.items).toHaveLength(2);
    const ids = new Set([...page1.body.data.items, ...page2.body.data.items].map((x: any) => x.id));
    expect(ids.size).toBe(4);
    expectError(await req("GET", "/api/v1/projects?limit=501", { token: alice.accessToken }), 400, "VALIDATION_ERROR");

    const patched = await req("PATCH", `/api/v1/projects/${p.id}`, { token: alice.accessToken, body: { name: "Renamed", status: "archived" } });
    expect(patched.status).toBe(200);
    expect(patched.body.data).toMatchObject({ name: "Renamed", status: "archived" });
    expectError(await req("PATCH", `/api/v1/projects/${p.id}`, { token: alice.accessToken, body: { status: "gone" } }), 400, "VALIDATION_ERROR");

    expect((await req("DELETE", `/api/v1/projects/${p.id}`, { token: alice.accessToken })).status).toBe(204);
    expectError(await req("GET", `/api/v1/projects/${p.id}`, { token: alice.accessToken }), 404, "NOT_FOUND");
    expectError(await req("GET", "/api/v1/projects/not-a-uuid", { token: alice.accessToken }), 400, "VALIDATION_ERROR");
  });

  it("members: owner adds and changes roles; list; remove", async () => {
    const p = (await req("POST", "/api/v1/projects", { token: alice.accessToken, body: { name: "Team" } })).body.data;
    const put = await req("PUT", `/api/v1/projects/${p.id}/members/${bob.user.id}`, { token: alice.accessToken, body: { role: "viewer" } });
    expect(put.status).toBe(200);
    expect(put.body.data).toMatchObject({ userId: bob.user.id, role: "viewer" });
    const list = await req("GET", `/api/v1/projects/${p.id}/members`, { token: bob.accessToken });
    expect(list.status).toBe(200);
    expect(list.body.data.items.map((m: any) => m.userId).sort()).toEqual([alice.user.id, bob.user.id].sort());
    expect((await req("GET", `/api/v1/projects/${p.id}`, { token: bob.accessToken })).body.data.role).toBe("viewer");
    expectError(await req("PUT", `/api/v1/projects/${p.id}/members/${bob.user.id}`, { token: alice.accessToken, body: { role: "god" } }), 400, "VALIDATION_ERROR");
    expect((await req("DELETE", `/api/v1/projects/${p.id}/members/${bob.user.id}`, { token: alice.accessToken })).status).toBe(204);
    expectError(await req("GET", `/api/v1/projects/${p.id}`, { token: bob.accessToken }), 404, "NOT_FOUND");
  });

  it("graph answers the live nodes and connections in one call", async () => {
    const p = (await req("POST", "/api/v1/projects", { token: alice.accessToken, body: { name: "G" } })).body.data;
    const a = (await req("POST", "/api/v1/nodes", { token: alice.accessToken, body: { projectId: p.id, title: "a" } })).body.data;
    const b = (await req("POST", "/api/v1/nodes", { token: alice.accessToken, body: { projectId: p.id, title: "b" } })).body.data;
    await req("POST", "/api/v1/connections", { token: alice.accessToken, body: { projectId: p.id, sourceNodeId: a.id, targetNodeId: b.id, type: "related" } });
    const g = await req("GET", `/api/v1/projects/${p.id}/graph`, { token: alice.accessToken });
    expect(g.status).toBe(200);
    expect(g.body.data.nodes.map((n: any) => n.title).sort()).toEqual(["a", "b"]);
    expect(g.body.data.connections).toHaveLength(1);
    expect(g.body.data.connections[0]).toMatchObject({ sourceNodeId: a.id, targetNodeId: b.id, type: "related" });
  });
});

describe("nodes", () => {
  let projectId: string;
  beforeAll(async () => {
    projectId = (await req("POST", "/api/v1/projects", { token: alice.accessToken, body: { name: "N" } })).body.data.id;
  });

  it("create answers 201 with defaults; get has an ETag; list filters", async () => {
    const res = await req("POST", "/api/v1/nodes", {
      token: alice.accessToken,
      body: { projectId, title: "Idea", content: "hello world", tags: ["x"], position: { x: 1, y: 2 } },
    });
    expect(res.status).toBe(201);
    const n = res.body.data;
    expect(n).toMatchObject({ projectId, title: "Idea", version: 1, importance: 3, confidence: 1, status: "idle", tags: ["x"], position: { x: 1, y: 2 }, parentId: null, aiGenerated: false, createdBy: alice.user.id });
    const got = await req("GET", `/api/v1/nodes/${n.id}`, { token: alice.accessToken });
    expect(got.headers.get("etag")).toBe('"1"');
    const list = await req("GET", `/api/v1/nodes?projectId=${projectId}&tag=x`, { token: alice.accessToken });
    expect(list.body.data.items.map((x: any) => x.id)).toContain(n.id);
    const q = await req("GET", `/api/v1/nodes?projectId=${projectId}&q=HELLO`, { token: alice.accessToken });
    expect(q.body.data.items.map((x: any) => x.id)).toContain(n.id);
    const none = await req("GET", `/api/v1/nodes?projectId=${projectId}&status=error`, { token: alice.accessToken });
    expect(none.body.data.items).toEqual([]);
    expectError(await req("GET", "/api/v1/nodes", { token: alice.accessToken }), 400, "VALIDATION_ERROR");
    const bad = await req("POST", "/api/v1/nodes", { token: alice.accessToken, body: { projectId, importance: 9 } });
    expectError(bad, 400, "VALIDATION_ERROR");
    expect(bad.body.error.details.field).toBe("importance");
  });

  it("PATCH bumps the version; a stale If-Match is 409 VERSION_CONFLICT with currentVersion", async () => {
    const n = (await req("POST", "/api/v1/nodes", { token: alice.accessToken, body: { projectId, title: "v" } })).body.data;
    const p1 = await req("PATCH", `/api/v1/nodes/${n.id}`, { token: alice.accessToken, body: { content: "two" }, headers: { "if-match": '"1"' } });
    expect(p1.status).toBe(200);
    expect(p1.body.data.version).toBe(2);
    expect(p1.headers.get("etag")).toBe('"2"');
    const stale = await req("PATCH", `/api/v1/nodes/${n.id}`, { token: alice.accessToken, body: { content: "three" }, headers: { "if-match": '"1"' } });
    expectError(stale, 409, "VERSION_CONFLICT");
    expect(stale.body.error.details.currentVersion).toBe(2);
    expectError(await req("PATCH", `/api/v1/nodes/${n.id}`, { token: alice.accessToken, body: { content: "x" }, headers: { "if-match": "banana" } }), 400, "VALIDATION_ERROR");
    const noMatch = await req("PATCH", `/api/v1/nodes/${n.id}`, { token: alice.accessToken, body: { title: "t3" } });
    expect(noMatch.body.data.version).toBe(3);
  });

  it("versions, rollback, delete, restore, permanent delete", async () => {
    const n = (await req("POST", "/api/v1/nodes", { token: alice.accessToken, body: { projectId, title: "r", content: "first" } })).body.data;
    await req("PATCH", `/api/v1/nodes/${n.id}`, { token: alice.accessToken, body: { content: "second" } });
    const versions = await req("GET", `/api/v1/nodes/${n.id}/versions`, { token: alice.accessToken });
    expect(versions.status).toBe(200);
    const byVersion = Object.fromEntries(versions.body.data.items.map((v: any) => [v.version, v]));
    expect(byVersion[1]).toMatchObject({ content: "first", changeType: "create" });
    expect(byVersion[2]).toMatchObject({ content: "second", changeType: "edit" });

    const rolled = await req("POST", `/api/v1/nodes/${n.id}/rollback`, { token: alice.accessToken, body: { version: 1 } });
    expect(rolled.status).toBe(200);
    expect(rolled.body.data).toMatchObject({ content: "first", version: 3 });
    expectError(await req("POST", `/api/v1/nodes/${n.id}/rollback`, { token: alice.accessToken, body: { version: 99 } }), 404, "NOT_FOUND");
    expectError(await req("POST", `/api/v1/nodes/${n.id}/rollback`, { token: alice.accessToken, body: { version: "1" } }), 400, "VALIDATION_ERROR");

    expect((await req("DELETE", `/api/v1/nodes/${n.id}`, { token: alice.accessToken })).status).toBe(204);
    const graph = await req("GET", `/api/v1/projects/${projectId}/graph`, { token: alice.accessToken });
    expect(graph.body.data.nodes.map((x: any) => x.id)).not.toContain(n.id);
    const restored = await req("POST", `/api/v1/nodes/${n.id}/restore`, { token: alice.accessToken });
    expect(restored.status).toBe(200);
    expect(restored.body.data.id).toBe(n.id);
    expect((await req("DELETE", `/api/v1/nodes/${n.id}?permanent=true`, { token: alice.accessToken })).status).toBe(204);
    expectError(await req("GET", `/api/v1/nodes/${n.id}`, { token: alice.accessToken }), 404, "NOT_FOUND");
  });
});

describe("connections", () => {
  it("create 201, get, list by node, patch, duplicate 409, self-loop 400, delete 204", async () => {
    const p = (await req("POST", "/api/v1/projects", { token: alice.accessToken, body: { name: "C" } })).body.data;
    const a = (await req("POST", "/api/v1/nodes", { token: alice.accessToken, body: { projectId: p.id, title: "a" } })).body.data;
    const b = (await req("POST", "/api/v1/nodes", { token: alice.accessToken, body: { projectId: p.id, title: "b" } })).body.data;
    const body = { projectId: p.id, sourceNodeId: a.id, targetNodeId: b.id, type: "dependency", label: "needs" };
    const c = await req("POST", "/api/v1/connections", { token: alice.accessToken, body });
    expect(c.status).toBe(201);
    expect(c.body.data).toMatchObject({ ...body, weight: 1 });
    expect((await req("GET", `/api/v1/connections/${c.body.data.id}`, { token: alice.accessToken })).body.data.id).toBe(c.body.data.id);
    const list = await req("GET", `/api/v1/connections?projectId=${p.id}&nodeId=${b.id}`, { token: alice.accessToken });
    expect(list.body.data.items).toHaveLength(1);
    expectError(await req("POST", "/api/v1/connections", { token: alice.accessToken, body }), 409, "CONFLICT");
    expectError(await req("POST", "/api/v1/connections", { token: alice.accessToken, body: { ...body, targetNodeId: a.id } }), 400, "VALIDATION_ERROR");
    expectError(await req("POST", "/api/v1/connections", { token: alice.accessToken, body: { ...body, type: "sideways" } }), 400, "VALIDATION_ERROR");
    expectError(await req("POST", "/api/v1/connections", { token: alice.accessToken, body: { ...body, weight: 2 } }), 400, "VALIDATION_ERROR");
    const patched = await req("PATCH", `/api/v1/connections/${c.body.data.id}`, { token: alice.accessToken, body: { weight: 0.5, label: "soft" } });
    expect(patched.status).toBe(200);
    expect(patched.body.data).toMatchObject({ weight: 0.5, label: "soft" });
    expect((await req("DELETE", `/api/v1/connections/${c.body.data.id}`, { token: alice.accessToken })).status).toBe(204);
    expectError(await req("GET", `/api/v1/connections/${c.body.data.id}`, { token: alice.accessToken }), 404, "NOT_FOUND");
  });
});

describe("ai tasks", () => {
  it("submit 202, same Idempotency-Key 200 with the same task, get, list, cancel, type rules 400", async () => {
    const p = (await req("POST", "/api/v1/projects", { token: alice.accessToken, body: { name: "AI" } })).body.data;
    const body = { projectId: p.id, type: "generate", prompt: "write about owls", priority: "high" };
    const first = await req("POST", "/api/v1/ai-tasks", { token: alice.accessToken, body, headers: { "idempotency-key": "k-1" } });
    expect(first.status, JSON.stringify(first.body)).toBe(202);
    expect(first.body.data).toMatchObject({ projectId: p.id, type: "generate", priority: "high", prompt: "write about owls" });
    const again = await req("POST", "/api/v1/ai-tasks", { token: alice.accessToken, body, headers: { "idempotency-key": "k-1" } });
    expect(again.status).toBe(200);
    expect(again.body.data.id).toBe(first.body.data.id);
    // Without a key the gateway uses its own and says which: asking again with it is safe too.
    const unkeyed = await req("POST", "/api/v1/ai-tasks", { token: alice.accessToken, body });
    expect(unkeyed.status).toBe(202);
    const key = unkeyed.headers.get("idempotency-key")!;
    expect(key).toMatch(/^auto:/);
    const asked = await req("POST", "/api/v1/ai-tasks", { token: alice.accessToken, body, headers: { "idempotency-key": key } });
    expect(asked.status).toBe(200);
    expect(asked.body.data.id).toBe(unkeyed.body.data.id);
    const got = await req("GET", `/api/v1/ai-tasks/${first.body.data.id}`, { token: alice.accessToken });
    expect(got.status).toBe(200);
    const list = await req("GET", `/api/v1/ai-tasks?projectId=${p.id}`, { token: alice.accessToken });
    expect(list.body.data.items.map((t: any) => t.id)).toContain(first.body.data.id);
    const cancel = await req("POST", `/api/v1/ai-tasks/${first.body.data.id}/cancel`, { token: alice.accessToken });
    expect([200, 409]).toContain(cancel.status);
    const noPrompt = await req("POST", "/api/v1/ai-tasks", { token: alice.accessToken, body: { projectId: p.id, type: "generate" } });
    expectError(noPrompt, 400, "VALIDATION_ERROR");
    expect(noPrompt.body.error.details.field).toBe("prompt");
    const fusion = await req("POST", "/api/v1/ai-tasks", { token: alice.accessToken, body: { projectId: p.id, type: "fusion", sourceNodeIds: [p.id] } });
    expect(fusion.body.error.details.field).toBe("sourceNodeIds");
    expectError(await req("POST", "/api/v1/ai-tasks", { token: alice.accessToken, body: { projectId: p.id, type: "optimize" } }), 400, "VALIDATION_ERROR");
  });

  it("a generate task runs to completion and writes a node", async () => {
    const p = (await req("POST", "/api/v1/projects", { token: alice.accessToken, body: { name: "AI2" } })).body.data;
    const t = (await req("POST", "/api/v1/ai-tasks", { token: alice.accessToken, body: { projectId: p.id, type: "generate", prompt: "hi" } })).body.data;
    let task = t;
    for (let i = 0; i < 100 && !["completed", "failed"].includes(task.status); i++) {
      await new Promise((r) => setTimeout(r, 100));
      task = (await req("GET", `/api/v1/ai-tasks/${t.id}`, { token: alice.accessToken })).body.data;
    }
    expect(task.status).toBe("completed");
    expect(task.resultNodeId).toBeTruthy();
    const node = await req("GET", `/api/v1/nodes/${task.resultNodeId}`, { token: alice.accessToken });
    expect(node.body.data.aiGenerated).toBe(true);
  });
});

describe("system routes", () => {
  it("are for admins only", async () => {
    expectError(await req("GET", "/api/system/info", { token: alice.accessToken }), 403, "FORBIDDEN");
    expectError(await req("GET", "/api/system/queues", { token: alice.accessToken }), 403, "FORBIDDEN");
    expectError(await req("GET", "/api/system/info"), 401, "UNAUTHENTICATED");
    const admin = await req("POST", "/api/v1/auth/register", { body: { email: "admin@example.com", username: "theadmin", password: "long enough" } });
    const token = admin.body.data.accessToken;
    // Listed in SKER_ADMIN_EMAILS, but not an admin until the mailbox is proven.
    expectError(await req("GET", "/api/system/info", { token }), 403, "FORBIDDEN");
    expect((await req("POST", "/api/v1/users/me/verify-email", { token })).status).toBe(202);
    const mail = await stack.mailbox.waitFor("admin@example.com", (m) => /Confirm your email/.test(m.subject));
    const verified = await req("POST", "/api/v1/auth/verify-email", { body: { token: tokenIn(mail) } });
    expect(verified.body.data).toMatchObject({ role: "admin", emailVerified: true });
    // The role is read from the database on each admin call: the same token works at once.
    const info = await req("GET", "/api/system/info", { token });
    expect(info.status).toBe(200);
    expect(info.body.data.dependencies).toMatchObject({ store: "up", broker: "up", redis: "up" });
    const queues = await req("GET", "/api/system/queues", { token });
    expect(queues.status, JSON.stringify(queues.body)).toBe(200);
    expect(Array.isArray(queues.body.data.queues)).toBe(true);
  });
});

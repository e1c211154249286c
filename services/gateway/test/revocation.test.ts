// Immediate effect: a disabled or deleted account, a changed password or a logout loses every
// door within seconds — REST, WebSocket (closed with 4401), the store's gRPC and the broker's.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { channelPool, promiseClient, type AppError } from "@sker/kit";
import { BrokerServiceService } from "@sker/contracts/broker/v1/broker";
import { ProjectServiceService } from "@sker/contracts/store/v1/project";
import { TaskPriority, TaskType } from "@sker/contracts/store/v1/task";
import { startStack, type Stack } from "@sker/testkit/stack";
import { client, register, type Req } from "@sker/testkit/http";
import { adminCli } from "./support/admin-cli.js";
import { WsClient } from "@sker/testkit/ws";

let stack: Stack;
let req: Req;
let admin: Awaited<ReturnType<typeof register>>;
const pools: { close(): void }[] = [];

function grpc<D extends Parameters<typeof promiseClient>[0]>(def: D, addr: string) {
  const pool = channelPool(addr, 1);
  pools.push(pool);
  return promiseClient(def, pool, { deadlineMs: 10_000, retries: 0 });
}
const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: AppError) => e);

beforeAll(async () => {
  stack = await startStack();
  req = client(stack.url);
  admin = await register(req, "root");
  const granted = await adminCli(stack.env, "grant", admin.user.email);
  expect(granted.code, granted.out).toBe(0);
  expect(granted.out).toContain("is now an admin");
}, 60_000);
afterAll(async () => {
  for (const p of pools) p.close();
  await stack?.close();
});

describe("make admin (services/store/dist/admin.js)", () => {
  it("grants the role in the database; an unknown email exits 1 naming it", async () => {
    expect((await req("GET", "/api/system/users", { token: admin.accessToken })).status).toBe(200);
    const missing = await adminCli(stack.env, "grant", "nobody@example.test");
    expect(missing.code).toBe(1);
    expect(missing.out).toContain("no account has the email nobody@example.test");
    expect((await adminCli(stack.env, "promote")).out).toContain("usage:");
  });
});

describe("a disabled user", () => {
  it("has an open socket closed with 4401 within 5 s, and the next REST, gRPC and WebSocket call refused", async () => {
    const eve = await register(req, "eve");
    const project = (await req("POST", "/api/v1/projects", { token: eve.accessToken, body: { name: "Eve's" } })).body.data.id;
    const key = (await req("POST", "/api/v1/api-keys", { token: eve.accessToken, body: { name: "eve's" } })).body.data.key;
    expect((await req("GET", `/api/v1/projects/${project}`, { apiKey: key })).status).toBe(200);
    const ws = await WsClient.open(stack.url, eve.accessToken);
    ws.send({ type: "subscribe", projectId: project });
    await ws.next((f) => f.type === "subscribed");

    const started = Date.now();
    const res = await req("POST", `/api/system/users/${eve.user.id}/disable`, { token: admin.accessToken });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.data).toMatchObject({ id: eve.user.id, disabled: true });
    const closed = await ws.waitClose(5_000);
    expect(closed.code).toBe(4401);
    expect(Date.now() - started).toBeLessThan(5_000);

    const rest = await req("GET", `/api/v1/projects/${project}`, { token: eve.accessToken });
    expect(rest.status).toBe(401);
    // The API key too, although the gateway had it verified a moment ago.
    expect((await req("GET", `/api/v1/projects/${project}`, { apiKey: key })).status).toBe(401);
    const rpc = await failure(grpc(ProjectServiceService, stack.env.STORE_ADDR).getProject({ id: project }, { token: eve.accessToken }));
    expect(rpc?.code).toBe("UNAUTHENTICATED");
    const again = await WsClient.open(stack.url, eve.accessToken);
    expect((await again.waitClose(5_000)).code).toBe(4401);
    expect((await req("POST", "/api/v1/auth/refresh", { body: { refreshToken: eve.refreshToken } })).status).toBe(401);
    const login = await req("POST", "/api/v1/auth/login", { body: { email: eve.user.email, password: eve.password } });
    expect(login.status).toBe(401);
    expect(login.body.error.message).toContain("disabled");

    // Re-enabled: signing in works again (old sessions stay revoked).
    expect((await req("POST", `/api/system/users/${eve.user.id}/enable`, { token: admin.accessToken })).body.data.disabled).toBe(false);
    const back = await req("POST", "/api/v1/auth/login", { body: { email: eve.user.email, password: eve.password } });
    expect(back.status).toBe(200);
    expect((await req("GET", `/api/v1/projects/${project}`, { token: back.body.data.accessToken })).status).toBe(200);
    expect((await req("GET", `/api/v1/projects/${project}`, { token: eve.accessToken })).status).toBe(401);
  });

  it("admins list users with last login; others cannot; an admin cannot disable themselves", async () => {
    const bob = await register(req, "bob");
    await req("POST", "/api/v1/auth/login", { body: { email: bob.user.email, password: bob.password } });
    const list = await req("GET", `/api/system/users?q=${encodeURIComponent(bob.user.username)}`, { token: admin.accessToken });
    expect(list.status).toBe(200);
    expect(list.body.data.items).toEqual([expect.objectContaining({ id: bob.user.id, role: "user", disabled: false, lastLoginAt: expect.any(String) })]);
    expect((await req("GET", "/api/system/users", { token: bob.accessToken })).status).toBe(403);
    expect((await req("POST", `/api/system/users/${admin.user.id}/disable`, { token: bob.accessToken })).status).toBe(403);
    const self = await req("POST", `/api/system/users/${admin.user.id}/disable`, { token: admin.accessToken });
    expect(self.status).toBe(409);
    expect((await req("POST", "/api/system/users/00000000-0000-4000-8000-000000000000/disable", { token: admin.accessToken })).status).toBe(404);
    expect((await req("POST", "/api/system/users/not-a-uuid/disable", { token: admin.accessToken })).status).toBe(400);
  });
});

describe("a deleted admin", () => {
  it("has their still-valid token refused on /api/system/* and on the broker's admin RPCs", async () => {
    const other = await register(req, "root2");
    expect((await adminCli(stack.env, "grant", other.user.email)).code).toBe(0);
    const broker = grpc(BrokerServiceService, stack.env.BROKER_ADDR);
    expect((await broker.getQueueStats({}, { token: other.accessToken })).queues.length).toBeGreaterThan(0);
    expect((await req("GET", "/api/system/info", { token: other.accessToken })).status).toBe(200);
    expect((await req("DELETE", "/api/v1/users/me", { token: other.accessToken })).status).toBe(204);
    expect((await req("GET", "/api/system/info", { token: other.accessToken })).status).toBe(401);
    expect((await req("GET", "/api/system/queues", { token: other.accessToken })).status).toBe(401);
    // The broker trusts the store's answer about a token for at most 2 s.
    await new Promise((r) => setTimeout(r, 2_100));
    expect((await failure(broker.getQueueStats({}, { token: other.accessToken })))?.code).toBe("UNAUTHENTICATED");
    expect((await failure(broker.replayDeadLetter({ taskId: "00000000-0000-4000-8000-000000000000" }, { token: other.accessToken })))?.code).toBe("UNAUTHENTICATED");
    // The user RPCs: ListModels checks the account in the broker; the rest are refused by the
    // store, which every one of them reaches with the user's token.
    expect((await failure(broker.listModels({}, { token: other.accessToken })))?.code).toBe("UNAUTHENTICATED");
    const submit = { projectId: "00000000-0000-4000-8000-000000000000", type: TaskType.TASK_TYPE_GENERATE, nodeId: "", sourceNodeIds: [], prompt: "p", priority: TaskPriority.TASK_PRIORITY_NORMAL, idempotencyKey: "", retryOf: "", options: undefined };
    expect((await failure(broker.submitTask(submit, { token: other.accessToken })))?.code).toBe("UNAUTHENTICATED");
    expect((await failure(broker.submitTask({ ...submit, options: { model: "local", temperature: undefined, maxTokens: undefined } }, { token: other.accessToken })))?.code).toBe("UNAUTHENTICATED");
    expect((await failure(broker.getTask({ id: "00000000-0000-4000-8000-000000000000" }, { token: other.accessToken })))?.code).toBe("UNAUTHENTICATED");
    expect((await failure(broker.cancelTask({ id: "00000000-0000-4000-8000-000000000000" }, { token: other.accessToken })))?.code).toBe("UNAUTHENTICATED");
  });

  it("a plain user's token is refused by the broker's admin RPCs (FORBIDDEN)", async () => {
    const u = await register(req, "plain");
    const broker = grpc(BrokerServiceService, stack.env.BROKER_ADDR);
    expect((await failure(broker.getQueueStats({}, { token: u.accessToken })))?.code).toBe("FORBIDDEN");
  });
});

describe("logout", () => {
  it("revokes the access token too: refused on REST and the store, its socket closed with 4401", async () => {
    const u = await register(req, "leaver");
    const second = (await req("POST", "/api/v1/auth/login", { body: { email: u.user.email, password: u.password } })).body.data;
    const ws = await WsClient.open(stack.url, u.accessToken);
    await ws.next((f) => f.type === "authenticated");
    const out = await req("POST", "/api/v1/auth/logout", { token: u.accessToken, body: { refreshToken: u.refreshToken } });
    expect(out.status).toBe(204);
    expect((await ws.waitClose(5_000)).code).toBe(4401);
    expect((await req("GET", "/api/v1/users/me", { token: u.accessToken })).status).toBe(401);
    expect((await failure(grpc(ProjectServiceService, stack.env.STORE_ADDR).listProjects({}, { token: u.accessToken })))?.code).toBe("UNAUTHENTICATED");
    expect((await req("POST", "/api/v1/auth/refresh", { body: { refreshToken: u.refreshToken } })).status).toBe(401);
    // Only that session: the other one goes on.
    expect((await req("GET", "/api/v1/users/me", { token: second.accessToken })).status).toBe(200);
  });
});

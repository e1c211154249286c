import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { AppError } from "@sker/kit";
import { TaskPriority, TaskType } from "@sker/contracts/store/v1/task";
import { startStack, type Stack } from "@sker/testkit/stack";
import { client, register, type Req } from "@sker/testkit/http";
import { directClients, type Direct } from "./support/grpc.js";
import { WsClient } from "@sker/testkit/ws";

// The per-user AI budget (RATE_LIMIT_AI_PER_USER) is counted by the store, where every door to
// AI work passes: REST, the WebSocket and a direct gRPC call to the broker all spend the same
// budget, and all of a user's API keys share it. Real store, broker and gateway, real Redis.

const BUDGET = 3;
let stack: Stack;
let req: Req;
let direct: Direct;
beforeAll(async () => {
  stack = await startStack({ storeEnv: { RATE_LIMIT_AI_PER_USER: String(BUDGET) } });
  req = client(stack.url);
  direct = directClients(stack);
}, 60_000);
afterAll(async () => stack?.close());

async function userWithProject(name: string) {
  const u = await register(req, name);
  const projectId = (await req("POST", "/api/v1/projects", { token: u.accessToken, body: { name } })).body.data.id as string;
  return { token: u.accessToken, projectId };
}

const rest = (auth: { token?: string; apiKey?: string }, projectId: string, body: Record<string, unknown> = {}) =>
  req("POST", "/api/v1/ai-tasks", { ...auth, body: { projectId, type: "generate", prompt: "a line", ...body } });

const grpcSubmit = (token: string, projectId: string) => direct.broker.submitTask({ projectId, type: TaskType.TASK_TYPE_GENERATE, prompt: "a line", priority: TaskPriority.TASK_PRIORITY_NORMAL }, { token });

async function refusal(p: Promise<unknown>): Promise<AppError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

function expect429(res: Awaited<ReturnType<Req>>) {
  expect(res.status, JSON.stringify(res.body)).toBe(429);
  expect(res.body.error.code).toBe("RATE_LIMITED");
  const retryAfter = Number(res.headers.get("retry-after"));
  expect(retryAfter).toBeGreaterThan(0);
  expect(retryAfter).toBeLessThanOrEqual(60);
  expect(res.body.error.details.retryAfter).toBe(retryAfter);
}

describe("the AI submission budget is one per user, at every door", () => {
  it("REST spends it: then a direct BrokerService/SubmitTask with the same token is refused RATE_LIMITED; another user is unaffected", async () => {
    const a = await userWithProject("resta");
    for (let i = 0; i < BUDGET; i++) expect((await rest(a, a.projectId)).status).toBe(202);
    expect429(await rest(a, a.projectId));

    const err = await refusal(grpcSubmit(a.token, a.projectId));
    expect(err.code).toBe("RATE_LIMITED");
    expect(err.details?.retryAfter).toBeGreaterThan(0);

    const b = await userWithProject("restb");
    expect((await rest(b, b.projectId)).status).toBe(202);
    const { task } = await grpcSubmit(b.token, b.projectId);
    expect(task?.id).toBeTruthy();
  });

  it("direct gRPC spends it: then REST answers 429 with Retry-After and the WebSocket AI_GENERATE_ERROR RATE_LIMITED", async () => {
    const a = await userWithProject("grpca");
    for (let i = 0; i < BUDGET; i++) expect((await grpcSubmit(a.token, a.projectId)).created).toBe(true);
    expect429(await rest(a, a.projectId));

    const ws = await WsClient.open(stack.url, a.token);
    try {
      ws.send({ type: "AI_GENERATE_REQUEST", requestId: "r1", projectId: a.projectId, prompt: "a line" });
      const frame = await ws.next((f) => f.type === "AI_GENERATE_ERROR" && f.requestId === "r1");
      expect(frame.error.code).toBe("RATE_LIMITED");
      expect(frame.error.details.retryAfter).toBeGreaterThan(0);
    } finally {
      ws.ws.terminate();
    }
  });

  it("the WebSocket spends the same budget as REST", async () => {
    const a = await userWithProject("wsa");
    const ws = await WsClient.open(stack.url, a.token);
    try {
      for (let i = 0; i < BUDGET; i++) {
        ws.send({ type: "AI_GENERATE_REQUEST", requestId: `w${i}`, projectId: a.projectId, prompt: "a line" });
        await ws.next((f) => f.requestId === `w${i}` && (f.type === "AI_GENERATE_RESPONSE" || f.type === "AI_GENERATE_ERROR"), 30_000).then((f) => expect(f.type).toBe("AI_GENERATE_RESPONSE"));
      }
    } finally {
      ws.ws.terminate();
    }
    expect429(await rest(a, a.projectId));
  });

  it("two API keys of one user share the budget", async () => {
    const a = await userWithProject("keys");
    const key = async (name: string) => (await req("POST", "/api/v1/api-keys", { token: a.token, body: { name } })).body.data.key as string;
    const [k1, k2] = [await key("one"), await key("two")];
    expect((await rest({ apiKey: k1 }, a.projectId)).status).toBe(202);
    expect((await rest({ apiKey: k2 }, a.projectId)).status).toBe(202);
    expect((await rest({ apiKey: k1 }, a.projectId)).status).toBe(202);
    expect429(await rest({ apiKey: k2 }, a.projectId));
    expect429(await rest({ apiKey: k1 }, a.projectId));
    expect429(await rest({ token: a.token }, a.projectId));
  });

  it("a graph run counts once, however many tasks it spawns", async () => {
    const a = await userWithProject("run");
    const node = async (body: Record<string, unknown>) => {
      const res = await req("POST", "/api/v1/nodes", { token: a.token, body: { projectId: a.projectId, ...body } });
      expect(res.status).toBe(201);
      return res.body.data.id as string;
    };
    const ids = [await node({ title: "one", recipe: { type: "generate", prompt: "first" } })];
    for (let i = 0; i < BUDGET; i++) ids.push(await node({ title: `n${i}`, recipe: { type: "optimize" } }));
    for (let i = 1; i < ids.length; i++) {
      const link = await req("POST", "/api/v1/connections", { token: a.token, body: { projectId: a.projectId, sourceNodeId: ids[i - 1], targetNodeId: ids[i], type: "input" } });
      expect(link.status).toBe(201);
    }
    const started = await req("POST", `/api/v1/projects/${a.projectId}/runs`, { token: a.token, body: {} });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const end = Date.now() + 30_000;
    let run = started.body.data;
    while (run.status === "running" && Date.now() < end) {
      await sleep(100);
      run = (await req("GET", `/api/v1/runs/${run.id}`, { token: a.token })).body.data;
    }
    expect(run.status).toBe("completed");
    // Four tasks ran; the run spent one submission, so BUDGET - 1 are left.
    expect(run.nodes).toHaveLength(BUDGET + 1);
    for (let i = 0; i < BUDGET - 1; i++) expect((await rest(a, a.projectId)).status).toBe(202);
    expect429(await rest(a, a.projectId));
    expect429(await req("POST", `/api/v1/projects/${a.projectId}/runs`, { token: a.token, body: { force: true } }));
  });

  it("a submission refused for bad input spends nothing", async () => {
    const a = await userWithProject("bad");
    const gone = "00000000-0000-4000-8000-000000000000";
    for (let i = 0; i < BUDGET + 2; i++) {
      const res = await rest(a, a.projectId, { nodeId: gone });
      expect(res.status).toBe(400);
      expect(res.body.error.details.field).toBe("nodeId");
    }
    for (let i = 0; i < BUDGET; i++) expect((await rest(a, a.projectId)).status).toBe(202);
    expect429(await rest(a, a.projectId));
  });
});

// Two gateway processes on one Redis and one RabbitMQ: one rate budget, one event stream.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "@sker/testkit/stack";
import { client, register } from "@sker/testkit/http";
import { WsClient } from "@sker/testkit/ws";

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ gateways: 2, gatewayEnv: { RATE_LIMIT_PER_USER: "30", RATE_LIMIT_AUTH_PER_IP: "100000" } });
});
afterAll(async () => stack?.close());

describe("two gateways", () => {
  it("a client alternating between them meets 429 at the shared budget, with Retry-After", async () => {
    const [g1, g2] = stack.urls.map(client);
    const user = await register(g1, "rl");
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof g1>> | undefined;
    for (let i = 0; i < 40; i++) {
      const res = await (i % 2 === 0 ? g1 : g2)("GET", "/api/v1/users/me", { token: user.accessToken });
      statuses.push(res.status);
      if (res.status === 429) limited ??= res;
    }
    expect(statuses.slice(0, 30).every((s) => s === 200)).toBe(true);
    expect(statuses.slice(30).every((s) => s === 429)).toBe(true);
    expect(limited!.body.error.code).toBe("RATE_LIMITED");
    expect(Number(limited!.headers.get("retry-after"))).toBeGreaterThan(0);
    // Another user's budget is untouched.
    const other = await register(g2, "rl2");
    expect((await g2("GET", "/api/v1/users/me", { token: other.accessToken })).status).toBe(200);
  });

  it("an edit made through gateway 1 reaches a socket on gateway 2", async () => {
    const g1 = client(stack.urls[0]);
    const user = await register(g1, "fan");
    const project = (await g1("POST", "/api/v1/projects", { token: user.accessToken, body: { name: "x" } })).body.data.id;
    const ws = await WsClient.open(stack.urls[1], user.accessToken);
    try {
      ws.send({ type: "subscribe", projectId: project });
      await ws.next((f) => f.type === "subscribed");
      const node = (await g1("POST", "/api/v1/nodes", { token: user.accessToken, body: { projectId: project, title: "across" } })).body.data;
      const [ev] = await ws.waitEvents(project, 1);
      expect(ev).toMatchObject({ name: "node.created", data: { id: node.id, title: "across" } });
    } finally {
      ws.ws.terminate();
    }
  });
});

describe("per-IP auth budget and AI submission budget", () => {
  it("answer 429 with Retry-After past their limits", async () => {
    const s = await startStack({ gatewayEnv: { RATE_LIMIT_AUTH_PER_IP: "5" }, storeEnv: { RATE_LIMIT_AI_PER_USER: "2" } });
    try {
      const r = client(s.url);
      const u = await register(r, "ai");
      const project = (await r("POST", "/api/v1/projects", { token: u.accessToken, body: { name: "ai" } })).body.data.id;
      const ai = [];
      for (let i = 0; i < 3; i++) ai.push(await r("POST", "/api/v1/ai-tasks", { token: u.accessToken, body: { projectId: project, type: "generate", prompt: "x" } }));
      // The store counts AI submissions (ai-budget.test.ts has the other doors).
      expect(ai.map((x) => x.status)).toEqual([202, 202, 429]);
      expect(ai[2].body.error.code).toBe("RATE_LIMITED");
      expect(Number(ai[2].headers.get("retry-after"))).toBeGreaterThan(0);
      // Other routes of that user are not limited by the AI budget.
      expect((await r("GET", "/api/v1/users/me", { token: u.accessToken })).status).toBe(200);

      const statuses = [];
      for (let i = 0; i < 6; i++) statuses.push((await r("POST", "/api/v1/auth/login", { body: { email: "nobody@example.com", password: "wrongpass" } })).status);
      // register used one of the five.
      expect(statuses).toEqual([401, 401, 401, 401, 429, 429]);
    } finally {
      await s.close();
    }
  });
});

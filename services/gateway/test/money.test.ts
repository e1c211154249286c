import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fakeLlm, type FakeLlm } from "@sker/testkit/fake-llm";
import { adminCli } from "./support/admin-cli.js";
import { client, register, type Req } from "@sker/testkit/http";
import { startStack, type Stack } from "@sker/testkit/stack";
import { WsClient } from "@sker/testkit/ws";

// Models, usage and budgets through REST, against the whole stack and a fake OpenAI server.
// "paid" costs $1,000 per million tokens either way ($0.001 a token), so a task submitted with
// a 1-character prompt and maxTokens 99 reserves (1 + 1,000 context allowance + 99) tokens = $1.10.

const ESTIMATE = 1.1;
let llm: FakeLlm;
let stack: Stack;
let req: Req;
let owner: Awaited<ReturnType<typeof register>>;
let editor: Awaited<ReturnType<typeof register>>;
let viewer: Awaited<ReturnType<typeof register>>;
let stranger: Awaited<ReturnType<typeof register>>;

beforeAll(async () => {
  llm = await fakeLlm();
  const file = join(mkdtempSync(join(tmpdir(), "sker-money-")), "models.yaml");
  writeFileSync(
    file,
    `
default: paid
providers:
  fake: { type: openai, baseUrl: "${llm.openaiUrl}", apiKeyEnv: MONEY_TEST_KEY }
  local: { type: local }
models:
  - { alias: paid, provider: fake, model: gpt-fake, contextWindow: 32000, price: { input: 1000, output: 1000 } }
  - { alias: local, provider: local, model: local-deterministic-1, contextWindow: 8000 }
`,
  );
  // 50 submissions to one project are checked one after another under its row lock: on a loaded
  // machine the last waits seconds, so internal deadlines are generous here (correctness is tested).
  stack = await startStack({ env: { AI_MODELS_FILE: file, MONEY_TEST_KEY: "sk-fake", BROKER_CONCURRENCY: "64", GRPC_DEADLINE_MS: "30000" } });
  req = client(stack.url);
  [owner, editor, viewer, stranger] = await Promise.all([register(req, "own"), register(req, "edi"), register(req, "vie"), register(req, "str")]);
}, 60_000);
afterAll(async () => {
  await stack?.close();
  await llm?.close();
});

const as = (u: { accessToken: string }) => ({ token: u.accessToken });

async function project(budget?: number) {
  const settings = budget === undefined ? {} : { ai: { monthlyBudgetUsd: budget } };
  const p = (await req("POST", "/api/v1/projects", { ...as(owner), body: { name: "Money", settings } })).body.data;
  await req("PUT", `/api/v1/projects/${p.id}/members/${editor.user.id}`, { ...as(owner), body: { role: "editor" } });
  await req("PUT", `/api/v1/projects/${p.id}/members/${viewer.user.id}`, { ...as(owner), body: { role: "viewer" } });
  return p.id as string;
}

const submit = (projectId: string, by = editor, model?: string) =>
  req("POST", "/api/v1/ai-tasks", { ...as(by), body: { projectId, type: "generate", prompt: "p", options: { maxTokens: 99, ...(model ? { model } : {}) } } });

async function waitDone(ids: string[], by = editor) {
  const until = Date.now() + 60_000;
  for (;;) {
    const tasks = await Promise.all(ids.map(async (id) => (await req("GET", `/api/v1/ai-tasks/${id}`, as(by))).body.data));
    if (tasks.every((t) => ["completed", "failed", "cancelled"].includes(t.status))) return tasks;
    if (Date.now() > until) throw new Error(`tasks not done: ${tasks.map((t) => t.status).join(",")}`);
    await sleep(200);
  }
}

describe("models", () => {
  it("GET /ai/models lists aliases, windows and prices; local costs 0; no keys or URLs", async () => {
    const res = await req("GET", "/api/v1/ai/models", as(viewer));
    expect(res.status).toBe(200);
    expect(res.body.data.items).toEqual([
      { alias: "paid", provider: "fake", contextWindow: 32000, inputPricePerMillion: 1000, outputPricePerMillion: 1000, fallbacks: [], default: true },
      { alias: "local", provider: "local", contextWindow: 8000, inputPricePerMillion: 0, outputPricePerMillion: 0, fallbacks: [], default: false },
    ]);
    expect(JSON.stringify(res.body)).not.toMatch(/127\.0\.0\.1|sk-fake|MONEY_TEST_KEY/);
    expect((await req("GET", "/api/v1/ai/models")).status).toBe(401);
  });
});

describe("budgets", () => {
  it("50 submissions at once against a budget that fits 10 start 10; the rest are 402 with the budget", async () => {
    const projectId = await project(10.5 * ESTIMATE);
    // Slow answers: no task ends (and frees its reservation) while the burst is checked.
    llm.script(...Array.from({ length: 10 }, () => ({ kind: "stream" as const, chunkDelayMs: 400 })));
    const results = await Promise.all(Array.from({ length: 50 }, () => submit(projectId)));
    const accepted = results.filter((r) => r.status === 202);
    const refused = results.filter((r) => r.status === 402);
    const seen = JSON.stringify(results.filter((r) => r.status !== 202 && r.status !== 402).map((r) => r.body));
    expect(accepted, seen).toHaveLength(10);
    expect(refused, seen).toHaveLength(40);
    const err = refused[0].body.error;
    expect(err.code).toBe("BUDGET_EXCEEDED");
    expect(err.details).toMatchObject({ scope: "project", budget: 10.5 * ESTIMATE, spent: 0 });
    expect(err.details.reserved).toBeCloseTo(10 * ESTIMATE, 6);
    const now = new Date();
    expect(err.details.resetsAt).toBe(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString());

    // The ledger agrees with what ran: every completed task's calls, nothing else.
    const tasks = await waitDone(accepted.map((r) => r.body.data.id));
    expect(tasks.every((t) => t.status === "completed")).toBe(true);
    const usage = (await req("GET", `/api/v1/projects/${projectId}/usage?groupBy=model`, as(editor))).body.data;
    const billed = tasks.reduce((s, t) => s + t.usage.costUsd, 0);
    expect(usage.total.calls).toBe(10);
    expect(usage.total.costUsd).toBeCloseTo(billed, 9);
    expect(usage.items).toEqual([{ ...usage.total, key: "paid" }]);
    expect(usage.budget).toMatchObject({ monthlyBudgetUsd: 10.5 * ESTIMATE, reservedUsd: 0 });
    expect(usage.budget.spentUsd).toBeCloseTo(billed, 9);
    // Reservations gave way to the (smaller) real cost: there is room again.
    expect((await submit(projectId)).status).toBe(202);
  }, 120_000);

  it("a task that crosses the budget finishes; 80% sends budget.warning; the next submission is 402", async () => {
    const projectId = await project(ESTIMATE);
    const ws = await WsClient.open(stack.url, owner.accessToken);
    ws.send({ type: "subscribe", projectId });
    await ws.next((f) => f.type === "subscribed");
    // 1,000 words streamed: ~$1.04 spent, over 80% of $1.10, on an estimate that fitted.
    llm.script({ kind: "stream", text: `Title: Long\n\n${"word ".repeat(1000)}\n\nTags: long` });
    const first = await submit(projectId);
    expect(first.status).toBe(202);
    const [task] = await waitDone([first.body.data.id]);
    expect(task.status).toBe("completed");
    expect(task.usage.costUsd).toBeGreaterThan(0.8 * ESTIMATE);
    const warning = await ws.next((f) => f.type === "event" && f.name === "budget.warning");
    expect(warning.data).toMatchObject({ projectId, scope: "project", budget: ESTIMATE });
    expect(warning.data.spent).toBeCloseTo(task.usage.costUsd, 6);
    ws.close();

    const refused = await submit(projectId);
    expect(refused.status).toBe(402);
    expect(refused.body.error.details.spent).toBeCloseTo(task.usage.costUsd, 6);
    // The free local model still runs.
    expect((await submit(projectId, editor, "local")).status).toBe(202);
  }, 60_000);

  it("only owners set the project budget; bad values are 400 naming the field", async () => {
    const projectId = await project(5);
    const byEditor = await req("PATCH", `/api/v1/projects/${projectId}`, { ...as(editor), body: { settings: { ai: { monthlyBudgetUsd: 500 } } } });
    expect(byEditor.status).toBe(403);
    const bad = await req("PATCH", `/api/v1/projects/${projectId}`, { ...as(owner), body: { settings: { ai: { monthlyBudgetUsd: -1 } } } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.field).toBe("settings.ai.monthlyBudgetUsd");
    // An editor may change other settings as long as the budget stays.
    expect((await req("PATCH", `/api/v1/projects/${projectId}`, { ...as(editor), body: { settings: { ai: { monthlyBudgetUsd: 5, model: "local" } } } })).status).toBe(200);
    expect((await req("PATCH", `/api/v1/projects/${projectId}`, { ...as(owner), body: { settings: { ai: { monthlyBudgetUsd: 50 } } } })).status).toBe(200);
    const usage = (await req("GET", `/api/v1/projects/${projectId}/usage`, as(owner))).body.data;
    expect(usage.budget.monthlyBudgetUsd).toBe(50);
  });

  it("a user's budget (admin override) refuses past it across projects, and shows in /users/me/usage", async () => {
    const spender = await register(req, "spe");
    const admin = await register(req, "adm");
    const adminToken = { token: admin.accessToken };
    // Not an admin: the route says so.
    expect((await req("PUT", `/api/system/users/${spender.user.id}/budget`, { ...adminToken, body: { monthlyBudgetUsd: 2 } })).status).toBe(403);
    // Admins are a role in the database, granted the way `make admin EMAIL=...` does.
    const root = await register(req, "root");
    expect((await adminCli(stack.env, "grant", root.user.email)).code).toBe(0);
    const rootToken = { token: root.accessToken };
    const set = await req("PUT", `/api/system/users/${spender.user.id}/budget`, { ...rootToken, body: { monthlyBudgetUsd: 2 } });
    expect(set.status).toBe(200);
    expect(set.body.data.budget).toMatchObject({ monthlyBudgetUsd: 2, spentUsd: 0 });
    expect((await req("PUT", `/api/system/users/${spender.user.id}/budget`, { ...rootToken, body: { monthlyBudgetUsd: -3 } })).status).toBe(400);

    const p1 = (await req("POST", "/api/v1/projects", { token: spender.accessToken, body: { name: "A" } })).body.data.id;
    const p2 = (await req("POST", "/api/v1/projects", { token: spender.accessToken, body: { name: "B" } })).body.data.id;
    llm.script({ kind: "stream", chunkDelayMs: 300 });
    expect((await submit(p1, spender)).status).toBe(202);
    const second = await submit(p2, spender);
    expect(second.status).toBe(402);
    expect(second.body.error.details).toMatchObject({ scope: "user", budget: 2 });
    const mine = (await req("GET", "/api/v1/users/me/usage?groupBy=project", { token: spender.accessToken })).body.data;
    expect(mine.budget).toMatchObject({ monthlyBudgetUsd: 2 });
    expect(mine.budget.reservedUsd + mine.budget.spentUsd).toBeGreaterThan(0);

    const system = await req("GET", "/api/system/usage?groupBy=project", rootToken);
    expect(system.status).toBe(200);
    expect(system.body.data.total.calls).toBeGreaterThan(0);
    expect((await req("GET", "/api/system/usage", { token: spender.accessToken })).status).toBe(403);
  }, 60_000);
});

describe("usage reports", () => {
  it("group by day, user and model; owners and editors only; strangers get 404", async () => {
    const projectId = await project();
    const t = await submit(projectId);
    await waitDone([t.body.data.id]);
    const today = new Date().toISOString().slice(0, 10);
    const byDay = (await req("GET", `/api/v1/projects/${projectId}/usage?groupBy=day`, as(owner))).body.data;
    expect(byDay.items.map((i: { key: string }) => i.key)).toEqual([today]);
    expect(byDay.budget).toBeNull();
    const byUser = (await req("GET", `/api/v1/projects/${projectId}/usage?groupBy=user`, as(editor))).body.data;
    expect(byUser.items.map((i: { key: string }) => i.key)).toEqual([editor.user.id]);
    const empty = (await req("GET", `/api/v1/projects/${projectId}/usage?from=2020-01-01&to=2020-02-01`, as(owner))).body.data;
    expect(empty.total).toMatchObject({ calls: 0, costUsd: 0 });
    expect((await req("GET", `/api/v1/projects/${projectId}/usage`, as(viewer))).status).toBe(403);
    expect((await req("GET", `/api/v1/projects/${projectId}/usage`, as(stranger))).status).toBe(404);
    const badGroup = await req("GET", `/api/v1/projects/${projectId}/usage?groupBy=project`, as(owner));
    expect(badGroup.status).toBe(400);
    const backwards = await req("GET", `/api/v1/projects/${projectId}/usage?from=2026-02-01&to=2026-01-01`, as(owner));
    expect(backwards.status).toBe(400);
    expect(backwards.body.error.details.field).toBe("to");
  }, 60_000);
});

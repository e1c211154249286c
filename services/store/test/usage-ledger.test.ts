import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AppError } from "@sker/kit";
import { TaskType, type ModelCall } from "@sker/contracts/store/v1/task";
import { UsageScope } from "@sker/contracts/store/v1/usage";
import { expectAppError, startTestStore, type TestStore, type TestUser } from "@sker/testkit/store";
import { resourceOf } from "./support/events.js";

// The ledger and the budgets in the store, on both drivers (PostgreSQL and the embedded PGlite):
// calls recorded in the attempt's transaction, reservations checked under the project lock,
// the 80% warning, and a FailTask retried after a lost answer billing its calls once.

describe.each(["pg", "pglite"] as const)("usage ledger on %s", (driver) => {
  let store: TestStore;
  let alice: TestUser;
  let broker: { token: string };
  beforeAll(async () => {
    store = await startTestStore({ driver, redis: false, env: { AI_USER_MONTHLY_BUDGET_USD: "100" } });
    alice = await store.register("alice");
    broker = { token: await store.serviceToken("broker") };
  }, 180_000);
  afterAll(() => store?.shutdown());

  const as = (u: TestUser) => ({ token: u.token });
  const call = (alias: string, costUsd: number, at: Date, outcome = "ok"): ModelCall => ({
    alias,
    provider: "p",
    model: `${alias}-id`,
    inputTokens: 100,
    outputTokens: 50,
    costUsd,
    outcome,
    message: "",
    durationMs: 12,
    at,
  });

  async function project(budget: number) {
    const { project } = await store.clients.projects.createProject({ name: "Money", settings: { ai: { monthlyBudgetUsd: budget } } }, as(alice));
    return project!.id;
  }
  const create = async (projectId: string, estimatedCostUsd: number) =>
    store.clients.tasks.createTask({ projectId, type: TaskType.TASK_TYPE_GENERATE, prompt: "p", options: { model: "m" }, estimatedCostUsd }, await store.viaBroker(as(alice)));

  it("reserves estimates against the project budget and refuses the one that does not fit", async () => {
    const projectId = await project(1);
    await create(projectId, 0.4);
    await create(projectId, 0.4);
    const err: AppError = await expectAppError(create(projectId, 0.4), "BUDGET_EXCEEDED");
    expect(err.details).toMatchObject({ scope: "project", budget: 1, spent: 0, reserved: 0.8 });
    // A free task always fits.
    expect((await create(projectId, 0)).created).toBe(true);
  });

  it("bills the calls with the outcome, warns at 80%, and lets the estimate go", async () => {
    const projectId = await project(1);
    const { task } = await create(projectId, 0.5);
    await store.clients.lifecycle.startTask({ id: task!.id, workerId: "w", leaseMs: 30_000 }, broker);
    const calls = [call("cheap", 0, new Date(Date.now() - 10), "PROVIDER_HTTP_503"), call("smart", 0.85, new Date())];
    calls[0].inputTokens = 0;
    calls[0].outputTokens = 0;
    const output = { title: "T", content: "C", tags: [], semanticType: "", importance: 0, confidence: 0 };
    const done = await store.clients.lifecycle.completeTask({ id: task!.id, workerId: "w", output, usage: { inputTokens: 100, outputTokens: 50, costUsd: 0.85 }, provider: "p", model: "smart-id", calls }, broker);
    expect(done.task!.calls.map((c) => c.outcome)).toEqual(["PROVIDER_HTTP_503", "ok"]);
    expect(done.task!.usage).toEqual({ inputTokens: 100, outputTokens: 50, costUsd: 0.85 });
    const { items, total, budget } = await store.clients.usage.getUsage({ scope: UsageScope.USAGE_SCOPE_PROJECT, projectId, groupBy: "model" }, as(alice));
    expect(items.map((i) => [i.key, i.calls, i.costUsd])).toEqual([["smart", 1, 0.85]]); // the 503 used no tokens: no row
    expect(total.costUsd).toBe(0.85);
    expect(budget).toMatchObject({ unlimited: false, limitUsd: 1, spentUsd: 0.85, reservedUsd: 0 });
    const { events } = await store.clients.events.listEvents({ projectId }, as(alice));
    const warning = events.find((e) => e.name === "budget.warning");
    expect(resourceOf(warning!)).toMatchObject({ projectId, scope: "project", budget: 1, spent: 0.85, percent: 85 });
    // 0.85 spent, nothing held: 0.1 fits, 0.2 does not.
    expect((await create(projectId, 0.1)).created).toBe(true);
    await expectAppError(create(projectId, 0.2), "BUDGET_EXCEEDED");
  });

  it("bills a failed attempt's calls once, even when FailTask is sent twice", async () => {
    const projectId = await project(50);
    const { task } = await create(projectId, 1);
    await store.clients.lifecycle.startTask({ id: task!.id, workerId: "w", leaseMs: 30_000 }, broker);
    const cut = [call("smart", 0.2, new Date(), "PROVIDER_NETWORK")];
    const fail = { id: task!.id, workerId: "w", error: { code: "PROVIDER_NETWORK", message: "cut" }, final: false, calls: cut };
    await store.clients.lifecycle.failTask(fail, broker);
    const again = await store.clients.lifecycle.failTask(fail, broker);
    expect(again.task!.calls).toHaveLength(1);
    expect(again.task!.usage).toEqual({ inputTokens: 100, outputTokens: 50, costUsd: 0.2 });
    const mine = await store.clients.usage.getUsage({ scope: UsageScope.USAGE_SCOPE_ME, groupBy: "project" }, as(alice));
    expect(mine.items.find((i) => i.key === projectId)).toMatchObject({ calls: 1, costUsd: 0.2 });
    // The user's default budget (AI_USER_MONTHLY_BUDGET_USD=100) shows with what is spent and held.
    expect(mine.budget).toMatchObject({ unlimited: false, limitUsd: 100 });
    expect(mine.budget!.spentUsd).toBeCloseTo(1.05, 9);
  });

  it("refuses bad report ranges and calls, naming the field", async () => {
    const projectId = await project(1);
    await expectAppError(store.clients.usage.getUsage({ scope: UsageScope.USAGE_SCOPE_PROJECT, projectId, groupBy: "week" }, as(alice)), "VALIDATION_ERROR", "groupBy");
    // Not alice: on the embedded database the first account is an admin.
    const bob = await store.register("bob");
    await expectAppError(store.clients.usage.getUsage({ scope: UsageScope.USAGE_SCOPE_SYSTEM }, as(bob)), "FORBIDDEN");
    await expectAppError(create(projectId, -1), "VALIDATION_ERROR", "estimatedCostUsd");
    const { task } = await create(projectId, 0);
    await store.clients.lifecycle.startTask({ id: task!.id, workerId: "w", leaseMs: 30_000 }, broker);
    const bad = { ...call("smart", 0.1, new Date()), inputTokens: -5 };
    await expectAppError(
      store.clients.lifecycle.failTask({ id: task!.id, workerId: "w", error: { code: "X", message: "" }, final: true, calls: [bad] }, broker),
      "VALIDATION_ERROR",
      "calls[0].inputTokens",
    );
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskType, type CreateTaskRequest } from "@sker/contracts/store/v1/task";
import { UsageScope } from "@sker/contracts/store/v1/usage";
import { expectAppError, startTestStore, type TestStore, type TestUser } from "@sker/testkit/store";

// A submission that names no model: the broker offers every alias it runs, priced for this
// submission, and its default; the store picks the project's default model when it is offered,
// else the deployment's, writes it on the task and reserves that model's estimate.

const OFFER = { estimatedCostByModel: { cheap: 0.1, smart: 0.4 }, defaultModel: "cheap" };

describe.each(["pg", "pglite"] as const)("the model of a task that names none, on %s", (driver) => {
  let store: TestStore;
  let alice: TestUser;
  beforeAll(async () => {
    store = await startTestStore({ driver, redis: false });
    alice = await store.register("alice");
  }, 180_000);
  afterAll(() => store?.shutdown());

  const as = (u: TestUser) => ({ token: u.token });
  const project = async (settings: Record<string, unknown> = {}) =>
    (await store.clients.projects.createProject({ name: "Models", settings: { ai: { monthlyBudgetUsd: 10 }, ...settings } }, as(alice))).project!.id;
  const submit = async (projectId: string, over: Partial<CreateTaskRequest> = {}) =>
    store.clients.tasks.createTask({ projectId, type: TaskType.TASK_TYPE_GENERATE, prompt: "p", ...OFFER, ...over }, await store.viaBroker(as(alice)));
  const reserved = async (projectId: string) => (await store.clients.usage.getUsage({ scope: UsageScope.USAGE_SCOPE_PROJECT, projectId }, as(alice))).budget!.reservedUsd;
  const tasksOf = async (projectId: string) => (await store.clients.tasks.listTasks({ projectId }, as(alice))).tasks;

  it("runs on the deployment's default when the project sets none, and reserves its estimate", async () => {
    const projectId = await project();
    const { task } = await submit(projectId);
    expect(task!.options!.model).toBe("cheap");
    expect(await reserved(projectId)).toBeCloseTo(0.1, 9);
  });

  it("runs on the project's default model, and a change of it applies to the next submission", async () => {
    const projectId = await project({ ai: { model: "smart", monthlyBudgetUsd: 10 } });
    expect((await submit(projectId)).task!.options!.model).toBe("smart");
    expect(await reserved(projectId)).toBeCloseTo(0.4, 9);
    await store.clients.projects.updateProject({ id: projectId, settings: { ai: { model: "cheap", monthlyBudgetUsd: 10 } } }, as(alice));
    expect((await submit(projectId)).task!.options!.model).toBe("cheap");
    expect(await reserved(projectId)).toBeCloseTo(0.5, 9);
  });

  it("falls back to the deployment's default when the project's model is not offered", async () => {
    const projectId = await project({ ai: { model: "retired", monthlyBudgetUsd: 10 } });
    expect((await submit(projectId)).task!.options!.model).toBe("cheap");
  });

  it("keeps a model the submission names, at the broker's estimate for it", async () => {
    const projectId = await project({ ai: { model: "smart", monthlyBudgetUsd: 10 } });
    const { task } = await submit(projectId, { options: { model: "cheap" }, estimatedCostUsd: 0.25 });
    expect(task!.options!.model).toBe("cheap");
    expect(await reserved(projectId)).toBeCloseTo(0.25, 9);
  });

  it("refuses the project's model when its estimate does not fit the budget", async () => {
    const projectId = await project({ ai: { model: "smart", monthlyBudgetUsd: 0.3 } });
    const err = await expectAppError(submit(projectId), "BUDGET_EXCEEDED");
    expect(err.details).toMatchObject({ scope: "project" });
    expect(await tasksOf(projectId)).toHaveLength(0);
  });

  it("refuses a malformed offer with the field named, and writes nothing", async () => {
    const projectId = await project();
    await expectAppError(submit(projectId, { defaultModel: "nope" }), "VALIDATION_ERROR", "defaultModel");
    await expectAppError(submit(projectId, { estimatedCostByModel: { cheap: -1 } }), "VALIDATION_ERROR", "estimatedCostByModel.cheap");
    await expectAppError(submit(projectId, { estimatedCostByModel: { cheap: 0.1, ["x".repeat(500)]: 0.1 } }), "VALIDATION_ERROR", "estimatedCostByModel");
    expect(await tasksOf(projectId)).toHaveLength(0);
    expect(await reserved(projectId)).toBe(0);
  });
});

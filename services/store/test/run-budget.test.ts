import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskStatus, TaskType } from "@sker/contracts/store/v1/task";
import { UsageScope } from "@sker/contracts/store/v1/usage";
import { ConnectionType } from "@sker/contracts/store/v1/connection";
import { RunNodeState } from "@sker/contracts/store/v1/run";
import { expectAppError, startTestStore, type TestStore, type TestUser } from "@sker/testkit/store";

// A graph run holds its estimate against the monthly budgets from CreateRun on: every planned
// node at the broker's rate for its model, the pending ones through the run, each queued one
// through its task. No broker runs here, so the run's first task stays queued.

// 100 USD per million output tokens, nothing for input: a node with maxTokens 1,000 may cost 0.1.
const RATES = { "": { inputPerMillion: 0, outputPerMillion: 100 }, cheap: { inputPerMillion: 0, outputPerMillion: 10 } };

describe.each(["pg", "pglite"] as const)("graph runs against the budgets on %s", (driver) => {
  let store: TestStore;
  let alice: TestUser;
  beforeAll(async () => {
    store = await startTestStore({ driver, redis: false });
    alice = await store.register("alice");
  }, 180_000);
  afterAll(() => store?.shutdown());

  const as = (u: TestUser) => ({ token: u.token });

  /** A project with a budget and a chain of three AI nodes (generate → optimize → optimize). */
  async function chain(budget: number, model = "") {
    const { project } = await store.clients.projects.createProject({ name: "Runs", settings: { ai: { monthlyBudgetUsd: budget } } }, as(alice));
    const projectId = project!.id;
    const ids: string[] = [];
    for (const [i, type] of ["generate", "optimize", "optimize"].entries()) {
      const recipe = { type, prompt: i === 0 ? "start" : "", model, maxTokens: 1_000 };
      ids.push((await store.clients.nodes.createNode({ projectId, title: `n${i}`, recipe }, as(alice))).node!.id);
      if (i > 0) await store.clients.connections.createConnection({ projectId, sourceNodeId: ids[i - 1], targetNodeId: ids[i], type: ConnectionType.CONNECTION_TYPE_INPUT }, as(alice));
    }
    return projectId;
  }
  const startRun = async (projectId: string, force = false) => store.clients.runs.createRun({ projectId, force, modelRates: RATES }, await store.viaBroker(as(alice)));
  const reserved = async (projectId: string) => (await store.clients.usage.getUsage({ scope: UsageScope.USAGE_SCOPE_PROJECT, projectId }, as(alice))).budget!.reservedUsd;
  const submit = async (projectId: string, estimatedCostUsd: number) =>
    store.clients.tasks.createTask({ projectId, type: TaskType.TASK_TYPE_GENERATE, prompt: "p", estimatedCostUsd }, await store.viaBroker(as(alice)));
  const runsOf = async (projectId: string) => (await store.clients.runs.listRuns({ projectId }, as(alice))).runs.length;

  it("holds every planned node's estimate from the start; the queued task holds its node's share", async () => {
    const projectId = await chain(1);
    const { run, tasks } = await startRun(projectId);
    expect(tasks).toHaveLength(1);
    expect(tasks[0].status).toBe(TaskStatus.TASK_STATUS_QUEUED);
    expect(await reserved(projectId)).toBeCloseTo(0.3, 9);
    expect(run!.nodes.map((n) => n.state)).toEqual([RunNodeState.RUN_NODE_STATE_QUEUED, RunNodeState.RUN_NODE_STATE_PENDING, RunNodeState.RUN_NODE_STATE_PENDING]);

    // Beside the run's 0.3, a task of 0.75 does not fit in 1; one of 0.7 does.
    const err = await expectAppError(submit(projectId, 0.75), "BUDGET_EXCEEDED");
    expect(err.details).toMatchObject({ scope: "project", budget: 1, reserved: 0.3 });
    await submit(projectId, 0.7);
    expect(await reserved(projectId)).toBeCloseTo(1, 9);

    // Cancelling the run lets its estimate go (queued task and pending nodes alike).
    await store.clients.runs.cancelRun({ id: run!.id }, as(alice));
    expect(await reserved(projectId)).toBeCloseTo(0.7, 9);
  });

  it("refuses a run whose estimate does not fit, writing nothing", async () => {
    const projectId = await chain(0.25);
    const err = await expectAppError(startRun(projectId), "BUDGET_EXCEEDED");
    expect(err.details).toMatchObject({ scope: "project", budget: 0.25 });
    expect(await runsOf(projectId)).toBe(0);
    expect(await reserved(projectId)).toBe(0);
  });

  it("prices each node at its model's rate (cheap: a tenth)", async () => {
    const projectId = await chain(0.25, "cheap");
    await startRun(projectId);
    expect(await reserved(projectId)).toBeCloseTo(0.03, 9);
  });

  it("refuses rates that are not prices, naming the field", async () => {
    const projectId = await chain(1);
    const bad = { cheap: { inputPerMillion: -1, outputPerMillion: 0 } };
    await expectAppError(store.clients.runs.createRun({ projectId, modelRates: bad }, await store.viaBroker(as(alice))), "VALIDATION_ERROR", "modelRates.cheap.inputPerMillion");
    expect(await runsOf(projectId)).toBe(0);
  });
});

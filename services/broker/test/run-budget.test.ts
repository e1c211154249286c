import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UsageScope } from "@sker/contracts/store/v1/usage";
import { expectAppError } from "@sker/testkit/store";
import { canvas } from "./support/graph.js";
import { startHarness, type Harness } from "./support/harness.js";
import { fakeLlm, type FakeLlm } from "@sker/testkit/fake-llm";

// StartRun prices a graph run before anything is queued: the broker sends its models' rates,
// the store estimates every planned node (1,024 output tokens unless the recipe says) and holds
// the total against the project's budget, refusing the run that does not fit.

let h: Harness;
let llm: FakeLlm;
beforeAll(async () => {
  llm = await fakeLlm();
  const file = join(mkdtempSync(join(tmpdir(), "sker-run-budget-")), "models.yaml");
  // An OpenAI-compatible server at 100 USD per million output tokens: a node's estimate is 0.1024.
  writeFileSync(
    file,
    `default: priced\nproviders:\n  fake: { type: openai, baseUrl: "${llm.openaiUrl}", apiKeyEnv: FAKE_LLM_KEY }\nmodels:\n  - { alias: priced, provider: fake, model: gpt-fake, contextWindow: 16000, price: { input: 0, output: 100 } }\n`,
  );
  h = await startHarness({ env: { AI_MODELS_FILE: file, FAKE_LLM_KEY: "sk-fake" } });
  await h.startBroker();
});
afterAll(async () => {
  await h?.shutdown();
  await llm?.close();
});

async function chainWithBudget(budget: number) {
  const g = await canvas(h);
  const a = await g.ai("A");
  const b = await g.ai("B", { type: "optimize", inputs: [a] });
  await g.ai("C", { type: "optimize", inputs: [b] });
  await h.store.clients.projects.updateProject({ id: g.projectId, settings: { ai: { monthlyBudgetUsd: budget } } }, g.as);
  const usage = async () => (await h.store.clients.usage.getUsage({ scope: UsageScope.USAGE_SCOPE_PROJECT, projectId: g.projectId }, g.as)).budget!;
  return { g, usage };
}

describe("graph runs and the monthly budgets", () => {
  it("a run whose three nodes' estimate (3 × 0.1024) does not fit the budget is refused before anything runs", async () => {
    const { g, usage } = await chainWithBudget(0.3);
    const err = await expectAppError(g.run(), "BUDGET_EXCEEDED");
    expect(err.details).toMatchObject({ scope: "project", budget: 0.3 });
    expect((await h.store.clients.runs.listRuns({ projectId: g.projectId }, g.as)).runs).toHaveLength(0);
    expect(await usage()).toMatchObject({ reservedUsd: 0, spentUsd: 0 });
  });

  it("a run that fits runs to the end; its estimate is let go and what it cost is spent", async () => {
    const { g, usage } = await chainWithBudget(0.31);
    const run = await g.run();
    const done = await g.waitRun(run.id);
    expect(g.status(done)).toBe("completed");
    const after = await usage();
    expect(after.reservedUsd).toBe(0);
    expect(after.spentUsd).toBeGreaterThan(0);
    expect(after.spentUsd).toBeLessThan(0.31);
    console.log(`run within budget: estimate 0.3072 held, spent ${after.spentUsd.toFixed(6)} USD`);
  });
});

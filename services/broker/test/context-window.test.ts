import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskType, type Task } from "@sker/contracts/store/v1/task";
import { startHarness, type Harness } from "./support/harness.js";
import { fakeLlm, type FakeLlm } from "@sker/testkit/fake-llm";

// The AI context is cut to what the task's model takes in: its context window (the smallest of
// its fallback chain) less the output it may write, capped by AI_CONTEXT_TOKENS. A models file
// with a small-window model, a fake OpenAI-compatible server recording what it was sent.

let h: Harness;
let llm: FakeLlm;
let client: ReturnType<Harness["client"]>;

const NODE_CHARS = 7_000;
const NODES = 6;

beforeAll(async () => {
  llm = await fakeLlm();
  const file = join(mkdtempSync(join(tmpdir(), "sker-window-")), "models.yaml");
  writeFileSync(
    file,
    `
default: roomy
providers:
  fake: { type: openai, baseUrl: "${llm.openaiUrl}", apiKeyEnv: FAKE_LLM_KEY }
models:
  - { alias: roomy, provider: fake, model: big-fake, contextWindow: 100000 }
  - { alias: tiny, provider: fake, model: tiny-fake, contextWindow: 1000 }
  - { alias: roomy-then-tiny, provider: fake, model: big-fake, contextWindow: 100000, fallbacks: [tiny] }
`,
  );
  // AI_CONTEXT_TOKENS 8,000 ≈ 32,000 chars: the cap for the roomy model.
  h = await startHarness({ env: { AI_MODELS_FILE: file, FAKE_LLM_KEY: "sk-fake", AI_CONTEXT_TOKENS: "8000" } });
  client = h.client((await h.startBroker()).port);
});
afterAll(async () => {
  await h?.shutdown();
  await llm?.close();
});

type Cut = { kept: number; omitted: number; truncated: number } | undefined;

/** A fusion over six upstream nodes of 7,000 chars (42,000 in all) on the given model. */
async function fusion(model: string, maxTokens = 100): Promise<{ task: Task; cut: Cut; sent: string }> {
  const { user, projectId } = await h.seed(0);
  const ids: string[] = [];
  for (let i = 0; i < NODES; i++) {
    const content = `node-${i}-start `.padEnd(NODE_CHARS, "regolith water ice ");
    ids.push((await h.store.clients.nodes.createNode({ projectId, title: `N${i}`, content }, { token: user.token })).node!.id);
  }
  const prompt = `fuse for ${model} with ${maxTokens} out, ${Math.random().toString(36).slice(2, 8)}`;
  const { task } = await client.submitTask({ projectId, type: TaskType.TASK_TYPE_FUSION, sourceNodeIds: ids, prompt, options: { model, maxTokens } }, { token: user.token });
  await h.waitForStatus(task!.id, "completed", 30_000);
  const done = await h.task(task!.id);
  const request = llm.requests.find((r) => JSON.stringify(r.body).includes(prompt));
  expect(request, "the provider was called").toBeDefined();
  const sent = (request!.body.messages as { content: string }[]).map((m) => m.content).join("\n");
  return { task: done, cut: (done.result as { contextCut?: Cut }).contextCut, sent };
}

/** Characters of the upstream nodes' content that reached the provider. */
const contextChars = (sent: string) => (sent.match(/node-\d-start(?: [a-z]+)*/g) ?? []).join("").length;
const notesSent = (sent: string) => (sent.match(/node-\d-start/g) ?? []).length;

describe("the context cut follows the task's model", () => {
  it("a small-window model gets only what fits its window less its output; a roomy one is capped by AI_CONTEXT_TOKENS", async () => {
    const tiny = await fusion("tiny");
    const roomy = await fusion("roomy");
    console.log(`context cut: tiny ${JSON.stringify(tiny.cut)}, roomy ${JSON.stringify(roomy.cut)}; chars sent ${tiny.sent.length} vs ${roomy.sent.length}`);

    // tiny: 1,000 tokens ≈ 4,000 chars, less 100 tokens of output = 3,600 chars for prompt and context.
    expect(tiny.cut).toEqual({ kept: 1, omitted: NODES - 1, truncated: 1 });
    expect(notesSent(tiny.sent)).toBe(1);
    expect(contextChars(tiny.sent)).toBeLessThanOrEqual(3_600);

    // roomy: its window is far larger, so AI_CONTEXT_TOKENS (32,000 chars) decides: 4 whole nodes and a cut fifth.
    expect(roomy.cut).toEqual({ kept: 5, omitted: 1, truncated: 1 });
    expect(notesSent(roomy.sent)).toBe(5);
    expect(contextChars(roomy.sent)).toBeGreaterThan(28_000);
    expect(contextChars(roomy.sent)).toBeLessThanOrEqual(32_000);
  });

  it("a model whose fallback has a smaller window is cut to the fallback's window", async () => {
    const chained = await fusion("roomy-then-tiny");
    expect(chained.cut).toEqual({ kept: 1, omitted: NODES - 1, truncated: 1 });
  });

  it("the output a task asks for leaves less room for its context", async () => {
    // 500 tokens of output: 4,000 - 2,000 = 2,000 chars; 900 would leave 400, below the floor of a quarter of the window (1,000).
    const half = await fusion("tiny", 500);
    const most = await fusion("tiny", 900);
    expect(contextChars(half.sent)).toBeLessThanOrEqual(2_000);
    expect(contextChars(half.sent)).toBeGreaterThan(1_500);
    expect(contextChars(most.sent)).toBeLessThanOrEqual(1_000);
    expect(contextChars(most.sent)).toBeGreaterThan(500);
  });
});

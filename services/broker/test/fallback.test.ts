import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError } from "@sker/kit";
import { TaskStatus, TaskType } from "@sker/contracts/store/v1/task";
import { fakeLlm, type FakeLlm } from "@sker/testkit/fake-llm";
import { startHarness, type Harness } from "./support/harness.js";

// Routing by model alias and falling back along the models file's list, against two local
// servers speaking the OpenAI and Anthropic wire formats. Every provider call lands in the
// task's `calls`, and every call that used tokens in the usage ledger.

let primary: FakeLlm; // OpenAI wire format
let backup: FakeLlm; // Anthropic wire format
let h: Harness;
let client: ReturnType<Harness["client"]>;
let metricsPort: number;

beforeAll(async () => {
  primary = await fakeLlm();
  backup = await fakeLlm();
  const dir = mkdtempSync(join(tmpdir(), "sker-fallback-"));
  const file = join(dir, "models.yaml");
  writeFileSync(
    file,
    `
default: smart
providers:
  primary: { type: openai, baseUrl: "${primary.openaiUrl}", apiKeyEnv: FAKE_LLM_KEY, timeoutMs: 1500, breaker: { failures: 3, cooldownMs: 600000 } }
  backup: { type: anthropic, baseUrl: "${backup.anthropicUrl}", apiKeyEnv: FAKE_LLM_KEY }
  local: { type: local }
models:
  - { alias: smart, provider: primary, model: gpt-fake, contextWindow: 16000, price: { input: 2, output: 8 }, fallbacks: [steady] }
  - { alias: steady, provider: backup, model: claude-fake, contextWindow: 16000, price: { input: 1, output: 5 } }
  - { alias: local, provider: local, model: local-deterministic-1, contextWindow: 8000 }
`,
  );
  h = await startHarness({ env: { AI_MODELS_FILE: file, FAKE_LLM_KEY: "sk-fake", AI_TASK_MAX_ATTEMPTS: "1", BROKER_CONCURRENCY: "4" } });
  metricsPort = (await h.startBroker()).metricsPort;
  client = h.client();
});
afterAll(async () => {
  await h?.shutdown();
  await primary?.close();
  await backup?.close();
});

async function run(prompt: string, model = "", settings?: Record<string, unknown>) {
  const { user, projectId } = await h.seed(0);
  if (settings) await h.store.clients.projects.updateProject({ id: projectId, settings }, { token: user.token });
  const { task } = await client.submitTask({ projectId, type: TaskType.TASK_TYPE_GENERATE, prompt, options: { model } }, { token: user.token });
  return task!.id;
}

const sentTo = (llm: FakeLlm, prompt: string) => llm.requests.filter((r) => JSON.stringify(r.body).includes(prompt)).length;
const ledger = (taskId: string) => h.store.db.selectFrom("usage_ledger").selectAll().where("task_id", "=", taskId).orderBy("at").execute();

const fromStatus = (s: TaskStatus) => s.replace("TASK_STATUS_", "").toLowerCase();

async function finished(id: string, status: "completed" | "failed" = "completed") {
  await h.waitForStatus(id, status);
  return h.task(id);
}

describe("model routing and fallback", () => {
  it("refuses an alias the models file does not have, naming options.model", async () => {
    const { user, projectId } = await h.seed(0);
    const err = await client.submitTask({ projectId, type: TaskType.TASK_TYPE_GENERATE, prompt: "p", options: { model: "gpt-17" } }, { token: user.token }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe("VALIDATION_ERROR");
    expect((err as AppError).details).toEqual({ field: "options.model" });
  });

  it("lists the models to signed-in users only", async () => {
    const { user } = await h.seed(0);
    const { models } = await client.listModels({}, { token: user.token });
    expect(models.map((m) => [m.alias, m.default])).toEqual([["smart", true], ["steady", false], ["local", false]]);
    expect(JSON.stringify(models)).not.toContain("127.0.0.1");
    await expect(client.listModels({}, {})).rejects.toMatchObject({ code: "UNAUTHENTICATED" });
  });

  it("falls back to the next model on a 503 and bills only what answered", async () => {
    primary.script({ kind: "error", status: 503 });
    const task = await finished(await run("fallback-503"));
    expect(task.provider).toBe("backup");
    expect(task.model).toBe("claude-fake");
    expect(task.calls.map((c) => [c.alias, c.provider, c.outcome])).toEqual([
      ["smart", "primary", "PROVIDER_HTTP_503"],
      ["steady", "backup", "ok"],
    ]);
    expect([sentTo(primary, "fallback-503"), sentTo(backup, "fallback-503")]).toEqual([1, 1]);
    const rows = await ledger(task.id);
    expect(rows).toHaveLength(1);
    const out = task.calls[1].outputTokens;
    expect(rows[0]).toMatchObject({ alias: "steady", provider: "backup", input_tokens: 37, output_tokens: out, user_id: task.createdBy, project_id: task.projectId });
    expect(rows[0].cost_usd).toBeCloseTo((37 * 1 + out * 5) / 1e6, 12);
    expect(task.usage!.costUsd).toBeCloseTo(rows[0].cost_usd, 12);
  });

  it("falls back when the provider does not answer within its timeout", async () => {
    primary.script({ kind: "hang" });
    const task = await finished(await run("fallback-timeout"));
    expect(task.calls.map((c) => c.outcome)).toEqual(["AI_TIMEOUT", "ok"]);
    expect(task.calls[0].durationMs).toBeGreaterThanOrEqual(1400);
    expect(task.provider).toBe("backup");
  });

  it("does not fall back on a 400: the next model would refuse the same request", async () => {
    primary.script({ kind: "error", status: 400 });
    const task = await finished(await run("no-fallback-400"), "failed");
    expect(task.error?.code).toBe("PROVIDER_HTTP_400");
    expect(task.calls.map((c) => c.outcome)).toEqual(["PROVIDER_HTTP_400"]);
    expect(sentTo(backup, "no-fallback-400")).toBe(0);
    expect(await ledger(task.id)).toHaveLength(0);
  });

  it("falls back when the stream is cut mid-answer, and bills the cut call for what it streamed", async () => {
    primary.script({ kind: "stream", cutAfterChunks: 4, chunkDelayMs: 20 });
    const task = await finished(await run("fallback-cut"));
    expect(task.calls.map((c) => [c.alias, c.outcome === "ok"])).toEqual([
      ["smart", false],
      ["steady", true],
    ]);
    expect(task.calls[0].outputTokens).toBeGreaterThan(0);
    const rows = await ledger(task.id);
    expect(rows.map((r) => r.alias)).toEqual(["smart", "steady"]);
    expect(rows[0].cost_usd).toBeGreaterThan(0);
    const total = rows.reduce((s, r) => s + r.cost_usd, 0);
    expect(task.usage!.costUsd).toBeCloseTo(total, 12);
    expect(task.usage!.inputTokens).toBe(rows[0].input_tokens + rows[1].input_tokens);
  });

  it("takes the project's default model when the task names none", async () => {
    const task = await finished(await run("project-default", "", { ai: { model: "steady" } }));
    expect(task.options?.model).toBe("steady");
    expect(task.calls.map((c) => c.alias)).toEqual(["steady"]);
    expect(sentTo(primary, "project-default")).toBe(0);
  });

  it("a change of the project's default model applies to the very next submission", async () => {
    const { user, projectId } = await h.seed(0);
    // Each task is let finish, so none is still calling the fake providers when the next test scripts them.
    const submit = async (prompt: string) => {
      const { task } = await client.submitTask({ projectId, type: TaskType.TASK_TYPE_GENERATE, prompt }, { token: user.token });
      await finished(task!.id);
      return task!;
    };
    await h.store.clients.projects.updateProject({ id: projectId, settings: { ai: { model: "steady" } } }, { token: user.token });
    expect((await submit("default-before")).options?.model).toBe("steady");
    await h.store.clients.projects.updateProject({ id: projectId, settings: { ai: { model: "local" } } }, { token: user.token });
    expect((await submit("default-after")).options?.model).toBe("local");
    await h.store.clients.projects.updateProject({ id: projectId, settings: {} }, { token: user.token });
    expect((await submit("default-none")).options?.model).toBe("smart");
  });

  it("bills what a cancelled call streamed, and nothing more", async () => {
    primary.script({ kind: "stream", chunkDelayMs: 150 });
    const { user, projectId } = await h.seed(0);
    const { task } = await client.submitTask({ projectId, type: TaskType.TASK_TYPE_GENERATE, prompt: "cancel-mid-stream" }, { token: user.token });
    const until = Date.now() + 20_000;
    while (sentTo(primary, "cancel-mid-stream") === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 900)); // a few chunks streamed
    await client.cancelTask({ id: task!.id }, { token: user.token });
    const end = Date.now() + 20_000;
    let rows = await ledger(task!.id);
    while (rows.length === 0 && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 100));
      rows = await ledger(task!.id);
    }
    expect(rows.map((r) => [r.alias, r.outcome])).toEqual([["smart", "CANCELLED"]]);
    expect(rows[0].output_tokens).toBeGreaterThan(0);
    const after = await h.task(task!.id);
    expect(fromStatus(after.status)).toBe("cancelled");
    expect(after.calls.map((c) => c.outcome)).toEqual(["CANCELLED"]);
    expect(after.usage!.costUsd).toBeCloseTo(rows[0].cost_usd, 12);
  });

  it("skips a provider its circuit breaker marked down, and shows it in the metrics", async () => {
    const ok = await finished(await run("breaker-reset")); // a success closes the streak
    expect(ok.provider).toBe("primary");
    primary.script({ kind: "error", status: 502 }, { kind: "error", status: 503 }, { kind: "error", status: 500 });
    for (const i of [1, 2, 3]) expect((await finished(await run(`breaker-${i}`))).provider).toBe("backup");
    const skipped = await finished(await run("breaker-open"));
    expect(skipped.calls.map((c) => [c.alias, c.outcome])).toEqual([
      ["smart", "CIRCUIT_OPEN"],
      ["steady", "ok"],
    ]);
    expect(sentTo(primary, "breaker-open")).toBe(0);
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(text).toMatch(/broker_circuit_state\{provider="primary"[^}]*\} 1/);
    expect(text).toMatch(/broker_circuit_state\{provider="backup"[^}]*\} 0/);
    const fallbacks = Number(/broker_model_fallbacks_total\{from="smart",to="steady",reason="CIRCUIT_OPEN"[^}]*\} (\d+)/.exec(text)?.[1]);
    expect(fallbacks).toBe(1);
    expect(text).toMatch(/broker_model_cost_usd_total\{provider="backup",model="steady"[^}]*\} [0-9.e-]+/);
    expect(text).toMatch(/broker_model_tokens_total\{provider="backup",model="steady",direction="input"[^}]*\} \d+/);
  });
});

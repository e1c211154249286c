import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { TaskPriority, TaskType } from "@sker/contracts/store/v1/task";
import { startHarness, type Harness } from "./support/harness.js";

// No poison task: a task whose context is huge starts with the context cut to the prompt
// budget (and says so), and a task whose start keeps failing spends its attempts and is
// dead-lettered instead of being handed back forever while other tenants wait.

let h: Harness;
let broker: { shutdown(): Promise<void> } | undefined;

beforeAll(async () => {
  h = await startHarness({ env: { AI_TASK_MAX_ATTEMPTS: "3" } });
});
afterEach(async () => {
  await broker?.shutdown();
  broker = undefined;
});
afterAll(async () => {
  await h?.shutdown();
});

const BIG = 100_000;

async function bigProject(nodes: number) {
  const { user, projectId } = await h.seed(0);
  const ids: string[] = [];
  for (let i = 0; i < nodes; i++) {
    const content = `${i} `.padEnd(BIG, "lorem ipsum dolor sit amet ");
    const { node } = await h.store.clients.nodes.createNode({ projectId, title: `Big ${i}`, content, importance: 1 + (i % 5) }, { token: user.token });
    ids.push(node!.id);
  }
  return { user, projectId, ids };
}

const elapsedMs = (t: { createdAt?: Date; completedAt?: Date }) => t.completedAt!.getTime() - t.createdAt!.getTime();

describe("poison tasks", () => {
  it("8 urgent fusions over 50 nodes of 100,000 chars each complete once with the context cut, and another tenant's task is not held up", async () => {
    // A lease long enough that a loaded machine's slow renewals do not lose it.
    const running = await h.startBroker({ BROKER_LEASE_MS: "15000" });
    broker = running;
    const client = h.client(running.port);
    const { user, projectId, ids } = await bigProject(50);
    const fusions = await Promise.all(
      Array.from({ length: 8 }, () =>
        client.submitTask({ projectId, type: TaskType.TASK_TYPE_FUSION, sourceNodeIds: ids, priority: TaskPriority.TASK_PRIORITY_URGENT }, { token: user.token }),
      ),
    );
    const other = await h.seed(1);
    const { task: theirs } = await client.submitTask(
      { projectId: other.projectId, type: TaskType.TASK_TYPE_GENERATE, prompt: "another tenant", priority: TaskPriority.TASK_PRIORITY_URGENT },
      { token: other.user.token },
    );
    await h.waitForStatus(theirs!.id, "completed", 30_000);
    const counts = await h.waitAllFinished(fusions.map((f) => f.task!.id), 60_000);
    const errors = await Promise.all(fusions.map(async (f) => (await h.task(f.task!.id)).error));
    expect(counts, JSON.stringify(errors.filter(Boolean))).toEqual({ completed: 8 });
    let attempts = 0;
    for (const f of fusions) {
      const t = await h.task(f.task!.id);
      // One each on a quiet machine; a start slower than its deadline may count another.
      expect(t.attempts).toBeLessThanOrEqual(3);
      attempts += t.attempts;
      // 8,000 tokens ≈ 32,000 chars: 50 nodes of 100,000 do not fit; the result says what was left out.
      const cut = (t.result as { contextCut: { kept: number; omitted: number; truncated: number } }).contextCut;
      expect(cut.kept + cut.omitted).toBe(50);
      expect(cut.omitted).toBeGreaterThanOrEqual(49);
      expect((await h.versionsPerTask([t.id])).get(t.id)).toBe(1);
    }
    const wait = elapsedMs(await h.task(theirs!.id));
    console.log(`poison repro: 8 fusions completed in ${attempts} attempts; the other tenant's task took ${wait} ms`);
    expect(wait).toBeLessThan(10_000);
  }, 120_000);

  it("a start whose answer cannot be delivered counts an attempt each time, then fails CONTEXT_TOO_LARGE and is dead-lettered", async () => {
    // A budget far over what one message may carry (and a model whose window allows it):
    // StartTask's answer is refused by size.
    const models = join(mkdtempSync(join(tmpdir(), "sker-poison-")), "models.yaml");
    writeFileSync(models, "default: local\nproviders:\n  local: { type: local }\nmodels:\n  - { alias: local, provider: local, model: local-deterministic-1, contextWindow: 1000000 }\n");
    const running = await h.startBroker({ AI_CONTEXT_TOKENS: "1000000", GRPC_MAX_MESSAGE_BYTES: "65536", AI_MODELS_FILE: models });
    broker = running;
    const client = h.client(running.port);
    const { user, projectId, ids } = await bigProject(3);
    const started = Date.now();
    const { task } = await client.submitTask({ projectId, type: TaskType.TASK_TYPE_FUSION, sourceNodeIds: ids }, { token: user.token });
    await h.waitForStatus(task!.id, "failed", 30_000);
    const failed = await h.task(task!.id);
    expect(failed.error!.code).toBe("CONTEXT_TOO_LARGE");
    expect(failed.attempts).toBe(3);
    expect(failed.error!.message).not.toMatch(/Received message larger than max/);
    const admin = await h.admin();
    const until = Date.now() + 5_000;
    let dead = 0;
    while (Date.now() < until && !(dead = (await client.getQueueStats({}, { token: admin.token })).deadLetters)) await new Promise((r) => setTimeout(r, 100));
    expect(dead).toBeGreaterThanOrEqual(1);
    console.log(`oversize start: failed after ${failed.attempts} attempts in ${Date.now() - started} ms, dead-lettered`);
  }, 60_000);
});

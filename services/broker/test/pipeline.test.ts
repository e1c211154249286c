import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { TaskPriority, TaskStatus, TaskType } from "@sker/contracts/store/v1/task";
import { expectAppError } from "@sker/testkit/store";
import { startHarness, type Harness } from "./support/harness.js";

// The AI task pipeline as a user sees it through BrokerService: submit → queued → running →
// completed with the result written once; validation before any write; idempotency;
// streamed progress on the events exchange; cancel; priority; the admin-only RPCs.

let h: Harness;
let client: ReturnType<Harness["client"]>;

beforeAll(async () => {
  h = await startHarness();
  await h.startBroker({ BROKER_CONCURRENCY: "4" });
  client = h.client();
});
afterAll(() => h?.shutdown());

describe("submit", () => {
  it("runs a generate task to completion, streaming progress and writing one version", async () => {
    const { user, projectId, nodeIds } = await h.seed(2);
    const { events, sub } = await h.watch(projectId);
    const { task, created } = await client.submitTask(
      { projectId, type: TaskType.TASK_TYPE_GENERATE, prompt: "Plan the launch of the canvas", sourceNodeIds: nodeIds },
      { token: user.token },
    );
    expect(created).toBe(true);
    expect(task!.status).toBe(TaskStatus.TASK_STATUS_QUEUED);
    await h.waitForStatus(task!.id, "completed");
    const done = await h.task(task!.id);
    expect(done.provider).toBe("local");
    expect(done.attempts).toBe(1);
    expect(done.resultNodeId).toMatch(/[0-9a-f-]{36}/);
    expect(done.usage!.outputTokens).toBeGreaterThan(0);
    expect((await h.versionsPerTask([task!.id])).get(task!.id)).toBe(1);
    const { node } = await h.store.clients.nodes.getNode({ id: done.resultNodeId }, { token: user.token });
    expect(node!.content).toContain("not a language model");
    // Progress: ephemeral, in order, and together the whole streamed answer.
    await sleep(200);
    const progress = events.filter((e) => e.name === "task.progress");
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.every((e) => e.seq === null)).toBe(true);
    const data = progress.map((e) => e.data as { taskId: string; index: number; delta: string });
    expect(data.map((d) => d.index)).toEqual(data.map((_, i) => i));
    expect(data.map((d) => d.delta).join("")).toContain(node!.content.split("\n")[0]);
    await sub.close();
  });

  it("completes each task type and writes exactly one version for it", async () => {
    const { user, projectId, nodeIds } = await h.seed(3);
    const submit = (req: Parameters<typeof client.submitTask>[0]) => client.submitTask({ projectId, ...req }, { token: user.token });
    const tasks = await Promise.all([
      submit({ type: TaskType.TASK_TYPE_OPTIMIZE, nodeId: nodeIds[0] }),
      submit({ type: TaskType.TASK_TYPE_EXPAND, nodeId: nodeIds[1] }),
      submit({ type: TaskType.TASK_TYPE_FUSION, sourceNodeIds: [nodeIds[0], nodeIds[2]] }),
      submit({ type: TaskType.TASK_TYPE_ANALYZE, nodeId: nodeIds[2] }),
    ]);
    const ids = tasks.map((t) => t.task!.id);
    for (const id of ids) await h.waitForStatus(id, "completed");
    const versions = await h.versionsPerTask(ids);
    for (const id of ids) expect(versions.get(id), id).toBe(1);
    const analyzed = await h.task(ids[3]);
    expect(analyzed.result).toMatchObject({ semanticType: expect.any(String), importance: expect.any(Number) });
  });

  it("rejects bad input naming the field, before anything is written", async () => {
    const { user, projectId } = await h.seed(0);
    const token = { token: user.token };
    const before = await h.store.db.selectFrom("tasks").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
    await expectAppError(client.submitTask({ projectId, type: TaskType.TASK_TYPE_GENERATE }, token), "VALIDATION_ERROR", "prompt");
    await expectAppError(client.submitTask({ projectId, type: TaskType.TASK_TYPE_OPTIMIZE }, token), "VALIDATION_ERROR", "nodeId");
    await expectAppError(client.submitTask({ projectId, type: TaskType.TASK_TYPE_FUSION, sourceNodeIds: [projectId] }, token), "VALIDATION_ERROR", "sourceNodeIds");
    await expectAppError(client.submitTask({ projectId: "nope", type: TaskType.TASK_TYPE_GENERATE, prompt: "x" }, token), "VALIDATION_ERROR", "projectId");
    await expectAppError(client.submitTask({ projectId, prompt: "x" }, token), "VALIDATION_ERROR", "type");
    await expectAppError(client.submitTask({ projectId, type: TaskType.TASK_TYPE_GENERATE, prompt: "x".repeat(20_001) }, token), "VALIDATION_ERROR", "prompt");
    await expectAppError(
      client.submitTask({ projectId, type: TaskType.TASK_TYPE_GENERATE, prompt: "x", options: { model: "", temperature: 3 } }, token),
      "VALIDATION_ERROR",
      "options.temperature",
    );
    // The store's own checks come back with their field too (a node of no project).
    await expectAppError(
      client.submitTask({ projectId, type: TaskType.TASK_TYPE_OPTIMIZE, nodeId: "00000000-0000-4000-8000-000000000000" }, token),
      "VALIDATION_ERROR",
      "nodeId",
    );
    const after = await h.store.db.selectFrom("tasks").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n));
  });

  it("needs a token and membership", async () => {
    const { projectId } = await h.seed(0);
    const stranger = await h.store.register("stranger");
    await expectAppError(client.submitTask({ projectId, type: TaskType.TASK_TYPE_GENERATE, prompt: "x" }, { token: "" }), "UNAUTHENTICATED");
    await expectAppError(client.submitTask({ projectId, type: TaskType.TASK_TYPE_GENERATE, prompt: "x" }, { token: stranger.token }), "NOT_FOUND");
  });

  it("answers the first task for a repeated idempotency key and runs it once", async () => {
    const { user, projectId } = await h.seed(0);
    const req = { projectId, type: TaskType.TASK_TYPE_GENERATE, prompt: "Once only", idempotencyKey: "key-1" };
    const first = await client.submitTask(req, { token: user.token });
    const again = await client.submitTask(req, { token: user.token });
    expect(first.created).toBe(true);
    expect(again.created).toBe(false);
    expect(again.task!.id).toBe(first.task!.id);
    await h.waitForStatus(first.task!.id, "completed");
    expect((await h.versionsPerTask([first.task!.id])).get(first.task!.id)).toBe(1);
  });

  it("GetTask answers the task for its members only", async () => {
    const { user, projectId } = await h.seed(0);
    const { task } = await client.submitTask({ projectId, type: TaskType.TASK_TYPE_GENERATE, prompt: "Read me" }, { token: user.token });
    const got = await client.getTask({ id: task!.id }, { token: user.token });
    expect(got.task!.id).toBe(task!.id);
    const stranger = await h.store.register("stranger");
    await expectAppError(client.getTask({ id: task!.id }, { token: stranger.token }), "NOT_FOUND");
  });
});

describe("queue order and cancel", () => {
  it("starts an urgent task before normal ones queued earlier, and never starts a cancelled queued task", async () => {
    // An API-only broker takes the submissions while nobody consumes, so the queue backs up.
    const x = await startHarness();
    try {
      const { user, projectId } = await x.seed(0);
      const api = x.client((await x.startBroker({ BROKER_WORKERS: "false" })).port);
      const submit = async (prompt: string, priority = TaskPriority.TASK_PRIORITY_NORMAL) =>
        (await api.submitTask({ projectId, type: TaskType.TASK_TYPE_GENERATE, prompt, priority }, { token: user.token })).task!.id;
      const normal: string[] = [];
      for (let i = 0; i < 5; i++) normal.push(await submit(`normal ${i}`));
      const cancelled = await submit("cancelled while queued");
      const urgent = await submit("urgent", TaskPriority.TASK_PRIORITY_URGENT);
      const { task } = await api.cancelTask({ id: cancelled }, { token: user.token });
      expect(task!.status).toBe(TaskStatus.TASK_STATUS_CANCELLED);

      await x.startBroker({ BROKER_CONCURRENCY: "1" });
      await x.waitAllFinished([...normal, urgent], 20_000);
      const rows = await x.store.db.selectFrom("tasks").select(["id", "started_at", "status"]).where("id", "in", [...normal, urgent, cancelled]).execute();
      const startedAt = new Map(rows.map((r) => [r.id, r.started_at?.getTime() ?? null]));
      const firstNormal = Math.min(...normal.map((id) => startedAt.get(id)!));
      expect(startedAt.get(urgent)!).toBeLessThanOrEqual(firstNormal);
      const order = [...normal, urgent].sort((a, b) => startedAt.get(a)! - startedAt.get(b)!);
      expect(order[0]).toBe(urgent);
      expect(rows.find((r) => r.id === cancelled)!.status).toBe("cancelled");
      expect(startedAt.get(cancelled)).toBeNull();
      expect(rows.filter((r) => r.id !== cancelled).every((r) => r.status === "completed")).toBe(true);
    } finally {
      await x.shutdown();
    }
  });
});

describe("admin RPCs", () => {
  it("answers queue stats to admins only", async () => {
    const { user } = await h.seed(0);
    await expectAppError(client.getQueueStats({}, { token: user.token }), "FORBIDDEN");
    const admin = await h.admin();
    const stats = await client.getQueueStats({}, { token: admin.token });
    expect(stats.queues.map((q) => q.name)).toContain(`${h.prefix}.tasks.ready`);
    expect(stats.workers).toBeGreaterThanOrEqual(1);
    expect(stats.deadLetters).toBe(0);
  });

  it("exposes task, queue, provider and token metrics", async () => {
    const text = await (await fetch(`http://127.0.0.1:${await h.brokerMetricsPort()}/metrics`)).text();
    expect(text).toMatch(/broker_tasks_total\{[^}]*type="generate"[^}]*status="completed"[^}]*\} [1-9]/);
    expect(text).toMatch(new RegExp(`broker_queue_messages\\{[^}]*queue="${h.prefix.replace(/\./g, "\\.")}\\.tasks\\.ready"[^}]*\\} \\d+`));
    expect(text).toMatch(/broker_provider_seconds_count\{[^}]*provider="local"[^}]*phase="total"[^}]*\} [1-9]/);
    expect(text).toMatch(/broker_tokens_total\{[^}]*provider="local"[^}]*direction="output"[^}]*\} [1-9]/);
    expect(text).toMatch(/grpc_server_handling_seconds_count\{[^}]*method="\/sker\.broker\.v1\.BrokerService\/SubmitTask"/);
  });

  it("refuses to replay what is not dead-lettered", async () => {
    const admin = await h.admin();
    const { user } = await h.seed(0);
    await expectAppError(client.replayDeadLetter({ taskId: "00000000-0000-4000-8000-000000000000" }, { token: user.token }), "FORBIDDEN");
    await expectAppError(client.replayDeadLetter({ taskId: "00000000-0000-4000-8000-000000000000" }, { token: admin.token }), "NOT_FOUND");
    await expectAppError(client.replayDeadLetter({ taskId: "not-a-task" }, { token: admin.token }), "VALIDATION_ERROR", "taskId");
    // A task that did not fail is not replayed: it stays as it is.
    const { user: author, projectId } = await h.seed(0);
    const { task } = await client.submitTask({ projectId, type: TaskType.TASK_TYPE_GENERATE, prompt: "fine as it is" }, { token: author.token });
    await h.waitForStatus(task!.id, "completed");
    await expectAppError(client.replayDeadLetter({ taskId: task!.id }, { token: admin.token }), "FAILED_PRECONDITION");
    expect(await h.status(task!.id)).toBe("completed");
    expect((await h.versionsPerTask([task!.id])).get(task!.id)).toBe(1);
  });
});

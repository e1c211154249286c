import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskStatus, TaskType } from "@sker/contracts/store/v1/task";
import amqplib from "amqplib";
import { fakeLlm, type FakeLlm } from "@sker/testkit/fake-llm";
import { RABBITMQ_URL } from "@sker/testkit/urls";
import { startHarness, type Harness } from "./support/harness.js";

// What happens when the provider misbehaves, end to end through RabbitMQ and the store: the
// openai provider talks to a local server replaying OpenAI's wire format, scripted per test.
// Transient errors retry through the delay queues; permanent ones fail at once; the last
// failure is dead-lettered and can be replayed; timeouts and cancels abort the stream.

let h: Harness;
let llm: FakeLlm;
let client: ReturnType<Harness["client"]>;

beforeAll(async () => {
  llm = await fakeLlm();
  h = await startHarness({
    env: { AI_PROVIDER: "openai", OPENAI_API_KEY: "sk-test", OPENAI_BASE_URL: llm.openaiUrl, AI_TASK_MAX_ATTEMPTS: "3", AI_TASK_TIMEOUT: "1500", BROKER_CONCURRENCY: "2" },
  });
  await h.startBroker();
  client = h.client();
});
afterAll(async () => {
  await h?.shutdown();
  await llm?.close();
});

async function submit(prompt: string) {
  const { user, projectId } = await h.seed(0);
  const { task } = await client.submitTask({ projectId, type: TaskType.TASK_TYPE_GENERATE, prompt }, { token: user.token });
  return { id: task!.id, user };
}

const providerFailures = async () => {
  const text = await (await fetch(`http://127.0.0.1:${await h.brokerMetricsPort()}/metrics`)).text();
  return Number(/^broker_provider_failures_total\{[^}]*provider="openai"[^}]*\} (\d+)$/m.exec(text)?.[1]);
};

const calls = (prompt: string) => llm.requests.filter((r) => JSON.stringify(r.body).includes(prompt));

describe("provider failures", () => {
  it("retries a 503 twice with growing delays and completes on the third attempt", async () => {
    llm.script({ kind: "error", status: 503 }, { kind: "error", status: 503 }, { kind: "stream" });
    const { id } = await submit("flaky-503");
    await h.waitForStatus(id, "completed");
    const task = await h.task(id);
    expect(task.attempts).toBe(3);
    expect(task.provider).toBe("openai");
    expect(task.usage).toEqual({ inputTokens: 42, outputTokens: expect.any(Number), costUsd: 0 });
    const at = calls("flaky-503").map((r) => r.at);
    expect(at).toHaveLength(3);
    // Backoff: base 100 ms then 200 ms, each jittered within its upper half.
    expect(at[1] - at[0]).toBeGreaterThanOrEqual(50);
    expect(at[2] - at[1]).toBeGreaterThanOrEqual(100);
    expect((await h.versionsPerTask([id])).get(id)).toBe(1);
  });

  it("acks a redelivered message of a finished task without calling the provider again", async () => {
    const { id } = await submit("finished-once");
    await h.waitForStatus(id, "completed");
    expect(calls("finished-once")).toHaveLength(1);
    const project = (await h.task(id)).projectId;
    // The same message again, as a redelivery after a lost ack would bring it.
    const conn = await amqplib.connect(RABBITMQ_URL);
    const ch = await conn.createConfirmChannel();
    ch.publish(`${h.prefix}.tasks`, "ready", Buffer.from(JSON.stringify({ taskId: id, projectId: project })), { persistent: true, priority: 3 });
    await ch.waitForConfirms();
    await conn.close();
    const admin = await h.admin();
    const until = Date.now() + 5_000;
    // Consumed (the queue drains) and dropped: no second provider call, no second version.
    while (Date.now() < until && (await client.getQueueStats({}, { token: admin.token })).queues[0].messages > 0) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300));
    expect(calls("finished-once")).toHaveLength(1);
    expect((await h.versionsPerTask([id])).get(id)).toBe(1);
    expect((await h.task(id)).attempts).toBe(1);
  });

  it("waits at least Retry-After after a 429", async () => {
    llm.script({ kind: "error", status: 429, headers: { "retry-after": "1" } }, { kind: "stream" });
    const { id } = await submit("rate-limited-429");
    await h.waitForStatus(id, "completed");
    const at = calls("rate-limited-429").map((r) => r.at);
    expect(at).toHaveLength(2);
    expect(at[1] - at[0]).toBeGreaterThanOrEqual(750); // capped by BROKER_RETRY_MAX_MS (800) in tests
  });

  it("fails after AI_TASK_MAX_ATTEMPTS, dead-letters the task, and replays it", async () => {
    llm.script({ kind: "error", status: 500 }, { kind: "error", status: 502 }, { kind: "error", status: 503 });
    const { id } = await submit("always-5xx");
    await h.waitForStatus(id, "failed");
    const failed = await h.task(id);
    expect(failed.attempts).toBe(3);
    expect(failed.error!.code).toBe("PROVIDER_HTTP_503");
    expect(calls("always-5xx")).toHaveLength(3);
    const admin = await h.admin();
    const until = Date.now() + 5_000;
    while ((await client.getQueueStats({}, { token: admin.token })).deadLetters < 1 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect((await client.getQueueStats({}, { token: admin.token })).deadLetters).toBe(1);

    // The provider is healthy again: the replay runs the task once more, to completion.
    const { task } = await client.replayDeadLetter({ taskId: id }, { token: admin.token });
    expect(task!.status).toBe(TaskStatus.TASK_STATUS_QUEUED);
    await h.waitForStatus(id, "completed");
    expect(calls("always-5xx")).toHaveLength(4);
    expect((await h.task(id)).attempts).toBe(1);
    expect((await client.getQueueStats({}, { token: admin.token })).deadLetters).toBe(0);
    expect((await h.versionsPerTask([id])).get(id)).toBe(1);
  });

  it("fails a 400 at once, without retrying, and counts one provider failure", async () => {
    const failuresBefore = await providerFailures();
    llm.script({ kind: "error", status: 400 });
    const { id } = await submit("bad-request-400");
    await h.waitForStatus(id, "failed");
    expect(await providerFailures()).toBe(failuresBefore + 1);
    const task = await h.task(id);
    expect(task.attempts).toBe(1);
    expect(task.error!.code).toBe("PROVIDER_HTTP_400");
    await new Promise((r) => setTimeout(r, 400));
    expect(calls("bad-request-400")).toHaveLength(1);
  });

  it("fails at once, dead-lettered, when the store refuses the result (no endless re-runs)", async () => {
    // An OpenAI-compatible server answering with a model name the store will not record.
    llm.script({ kind: "stream", model: "m".repeat(300) });
    const { id } = await submit("refused-result");
    await h.waitForStatus(id, "failed");
    const task = await h.task(id);
    expect(task.attempts).toBe(1);
    expect(task.error!.code).toBe("VALIDATION_ERROR");
    await new Promise((r) => setTimeout(r, 400));
    expect(calls("refused-result")).toHaveLength(1);
  });

  it("a task whose workers kept dying fails ATTEMPTS_EXHAUSTED instead of running forever", async () => {
    const { user, projectId } = await h.seed(0);
    const { task } = await h.store.clients.tasks.createTask({ projectId, type: TaskType.TASK_TYPE_GENERATE, prompt: "kills-its-workers" }, await h.store.viaBroker(user));
    // As if three workers had taken it in turn and died (kill -9) with the lease held.
    await h.store.db
      .updateTable("tasks")
      .set({ status: "running", attempts: 3, lease_owner: "dead-worker", lease_expires_at: new Date(Date.now() - 1000) })
      .where("id", "=", task!.id)
      .execute();
    await h.waitForStatus(task!.id, "failed");
    expect((await h.task(task!.id)).error!.code).toBe("ATTEMPTS_EXHAUSTED");
    expect(calls("kills-its-workers")).toHaveLength(0);
  });

  it("retries a stream cut mid-answer and completes", async () => {
    llm.script({ kind: "stream", cutAfterChunks: 4, chunkDelayMs: 5 }, { kind: "stream" });
    const { id } = await submit("cut-mid-stream");
    await h.waitForStatus(id, "completed");
    expect((await h.task(id)).attempts).toBe(2);
  });

  it("aborts an attempt at AI_TASK_TIMEOUT and counts it as a transient failure", async () => {
    llm.script({ kind: "hang" }, { kind: "hang" }, { kind: "hang" });
    const started = Date.now();
    const { id } = await submit("hangs-forever");
    await h.waitForStatus(id, "failed", 15_000);
    const task = await h.task(id);
    expect(task.error!.code).toBe("AI_TIMEOUT");
    expect(task.attempts).toBe(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(3 * 1_500);
  });

  it("cancels a running task: the provider stream is aborted within 1 s and the task stays cancelled", async () => {
    llm.script({ kind: "stream", chunkDelayMs: 200, text: "Title: Slow\n\n" + "word ".repeat(100) });
    const { id, user } = await submit("slow-to-cancel");
    await h.waitForStatus(id, "running");
    await new Promise((r) => setTimeout(r, 300));
    const requestsFor = () => llm.requests.filter((r) => JSON.stringify(r.body).includes("slow-to-cancel")).length;
    expect(requestsFor()).toBe(1);
    const cancelledAt = Date.now();
    const { task } = await client.cancelTask({ id }, { token: user.token });
    expect(task!.status).toBe(TaskStatus.TASK_STATUS_CANCELLED);
    // The worker's in-flight gauge drops once the attempt is aborted.
    const metrics = async () => (await fetch(`http://127.0.0.1:${(await h.brokerMetricsPort())}/metrics`)).text();
    let text = "";
    while (Date.now() - cancelledAt < 1_000) {
      text = await metrics();
      if (/broker_tasks_total\{[^}]*status="cancelled"[^}]*\} 1/.test(text)) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(Date.now() - cancelledAt).toBeLessThan(1_000);
    expect(text).toMatch(/broker_tasks_total\{[^}]*status="cancelled"[^}]*\} 1/);
    await new Promise((r) => setTimeout(r, 500));
    expect(await h.status(id)).toBe("cancelled");
    expect((await h.versionsPerTask([id])).get(id)).toBeUndefined();
  });
});

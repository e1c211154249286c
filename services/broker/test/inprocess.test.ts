import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskStatus, TaskType } from "@sker/contracts/store/v1/task";
import { startHarness, type Harness } from "./support/harness.js";

// The broker without RabbitMQ (all-in-one mode: in-process queue and bus), its lease renewal
// on long attempts, and its shutdown drain.

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.shutdown());

const generate = async (client: ReturnType<Harness["client"]>, prompt: string) => {
  const { user, projectId } = await h.seed(0);
  const { task } = await client.submitTask({ projectId, type: TaskType.TASK_TYPE_GENERATE, prompt }, { token: user.token });
  return { id: task!.id, user };
};

describe("in-process queue (RABBITMQ_URL unset)", () => {
  it("runs and cancels tasks with no RabbitMQ at all", async () => {
    const broker = await h.startBroker({ RABBITMQ_URL: "", SKER_QUEUE_PREFIX: "inproc-a", LOCAL_AI_TOKEN_DELAY_MS: "0" });
    const client = h.client(broker.port);
    const { id } = await generate(client, "offline");
    await h.waitForStatus(id, "completed");
    expect((await h.versionsPerTask([id])).get(id)).toBe(1);
    await broker.shutdown();

    const slow = await h.startBroker({ RABBITMQ_URL: "", SKER_QUEUE_PREFIX: "inproc-b", LOCAL_AI_TOKEN_DELAY_MS: "100" });
    const c2 = h.client(slow.port);
    const { id: running, user } = await generate(c2, "cancel me offline");
    await h.waitForStatus(running, "running");
    const { task } = await c2.cancelTask({ id: running }, { token: user.token });
    expect(task!.status).toBe(TaskStatus.TASK_STATUS_CANCELLED);
    const started = Date.now();
    await slow.shutdown(); // returns once the aborted attempt has settled
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(await h.status(running)).toBe("cancelled");
  });
});

describe("leases and shutdown", () => {
  it("renews the lease of an attempt that outlives it, so it is not reclaimed", async () => {
    // ~70 tokens at 40 ms ≈ 2.8 s of work on a 600 ms lease, with the reaper sweeping every 200 ms.
    const broker = await h.startBroker({ BROKER_LEASE_MS: "600", BROKER_REAPER_INTERVAL_MS: "200", LOCAL_AI_TOKEN_DELAY_MS: "40" });
    const { id } = await generate(h.client(broker.port), "long running attempt");
    await h.waitForStatus(id, "completed", 15_000);
    expect((await h.task(id)).attempts).toBe(1);
    await broker.shutdown();
  });

  it("drains on shutdown: the running attempt finishes before the broker stops", async () => {
    const broker = await h.startBroker({ LOCAL_AI_TOKEN_DELAY_MS: "15", SHUTDOWN_TIMEOUT_MS: "8000" });
    const { id } = await generate(h.client(broker.port), "finish before exit");
    await h.waitForStatus(id, "running");
    await broker.shutdown();
    expect(await h.status(id)).toBe("completed");
  });

  it("hands an attempt that cannot finish in time back to the queue for another broker", async () => {
    const broker = await h.startBroker({ LOCAL_AI_TOKEN_DELAY_MS: "500", SHUTDOWN_TIMEOUT_MS: "2500" });
    const { id } = await generate(h.client(broker.port), "too slow to drain");
    await h.waitForStatus(id, "running");
    await broker.shutdown();
    expect(await h.status(id)).toBe("queued");
    await h.startBroker({ LOCAL_AI_TOKEN_DELAY_MS: "0" });
    await h.waitForStatus(id, "completed", 10_000);
    expect((await h.task(id)).attempts).toBe(2);
    expect((await h.versionsPerTask([id])).get(id)).toBe(1);
  });

  it("does not republish queued tasks that are only waiting in a backlog", async () => {
    const broker = await h.startBroker({
      SKER_QUEUE_PREFIX: `${h.prefix}.backlog`,
      BROKER_CONCURRENCY: "1",
      LOCAL_AI_TOKEN_DELAY_MS: "40",
      BROKER_RECLAIM_QUEUED_AFTER_MS: "1000",
      BROKER_REAPER_INTERVAL_MS: "200",
    });
    const client = h.client(broker.port);
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push((await generate(client, `backlog ${i}`)).id);
    const admin = await h.admin();
    // One runs for seconds; three wait in line, older than the reclaim age, for several sweeps.
    await new Promise((r) => setTimeout(r, 2_500));
    const stats = await client.getQueueStats({}, { token: admin.token });
    expect(stats.queues[0].messages).toBeLessThanOrEqual(3);
    await broker.shutdown();
  }, 30_000);

  it("publishes a task whose message was lost (persisted, never published) via the reaper", async () => {
    const { user, projectId } = await h.seed(0);
    // Straight into the store, as if the broker died between CreateTask and publish.
    const { task } = await h.store.clients.tasks.createTask({ projectId, type: TaskType.TASK_TYPE_GENERATE, prompt: "orphan" }, await h.store.viaBroker(user));
    await h.startBroker({ BROKER_RECLAIM_QUEUED_AFTER_MS: "1000", BROKER_REAPER_INTERVAL_MS: "200" });
    await h.waitForStatus(task!.id, "completed", 10_000);
    expect((await h.versionsPerTask([task!.id])).get(task!.id)).toBe(1);
  });
});

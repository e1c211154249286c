import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { TaskType } from "@sker/contracts/store/v1/task";
import { startHarness, type Harness } from "./support/harness.js";
import { RABBITMQ_URL } from "@sker/testkit/urls";
import { tcpProxy } from "@sker/testkit/tcp-proxy";

// RabbitMQ going away while tasks are queued and running. The machine's RabbitMQ is shared,
// so the broker reaches it through a TCP proxy that the test cuts and restores: the broker
// sees exactly what a RabbitMQ restart looks like (connections dropped, refused, then back).

let h: Harness;
let proxy: Awaited<ReturnType<typeof tcpProxy>>;

beforeAll(async () => {
  const target = new URL(RABBITMQ_URL);
  proxy = await tcpProxy({ host: target.hostname, port: Number(target.port || 5672) });
  const viaProxy = RABBITMQ_URL.replace(/:\d+$/, `:${proxy.port}`);
  h = await startHarness({ rabbitmqUrl: viaProxy, env: { BROKER_RECLAIM_QUEUED_AFTER_MS: "3000" } });
});
afterAll(async () => {
  await h?.shutdown();
  await proxy?.close();
});

describe("RabbitMQ restart", () => {
  it("loses no task queued or running when the connection drops and comes back", async () => {
    const broker = await h.startBroker({ BROKER_CONCURRENCY: "2", LOCAL_AI_TOKEN_DELAY_MS: "5" });
    const client = h.client(broker.port);
    const { user, projectId } = await h.seed(0);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push((await client.submitTask({ projectId, type: TaskType.TASK_TYPE_GENERATE, prompt: `queued ${i}` }, { token: user.token })).task!.id);

    await h.waitForStatus(ids[0], ["running", "completed"]);
    proxy.cut();
    // Submitted while RabbitMQ is away: persisted by the store, published when it is back.
    const during: string[] = [];
    for (let i = 0; i < 5; i++) during.push((await client.submitTask({ projectId, type: TaskType.TASK_TYPE_GENERATE, prompt: `during ${i}` }, { token: user.token })).task!.id);
    // Admin reads answer at once rather than hang, and the metrics scrape still works.
    const admin = await h.admin();
    const asked = Date.now();
    const err = await client.getQueueStats({}, { token: admin.token }).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe("UNAVAILABLE");
    expect(Date.now() - asked).toBeLessThan(1_000);
    const scrape = await fetch(`http://127.0.0.1:${broker.metricsPort}/metrics`);
    expect(scrape.status).toBe(200);
    await sleep(1_500);
    const midway = await h.store.db.selectFrom("tasks").select(["status"]).where("id", "in", ids).execute();
    expect(midway.filter((r) => r.status === "queued").length).toBeGreaterThan(0);
    proxy.restore();

    const all = [...ids, ...during];
    const counts = await h.waitAllFinished(all, 60_000);
    expect(counts).toEqual({ completed: all.length });
    const versions = await h.versionsPerTask(all);
    expect([...versions.values()].every((n) => n === 1)).toBe(true);
    expect(versions.size).toBe(all.length);
    // The consumer came back by itself: the broker still takes new work.
    const { task } = await client.submitTask({ projectId, type: TaskType.TASK_TYPE_GENERATE, prompt: "after" }, { token: user.token });
    await h.waitForStatus(task!.id, "completed", 10_000);
    expect(proxy.connections()).toBeGreaterThan(0);
  }, 90_000);
});

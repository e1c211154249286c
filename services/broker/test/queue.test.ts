import { afterAll, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { createLogger } from "@sker/kit";
import { memoryTaskQueue } from "../src/queue/memory.js";
import { rabbitTaskQueue } from "../src/queue/rabbit.js";
import type { Delivery, Settle, TaskQueue } from "../src/queue/types.js";
import { deleteTopology, uniquePrefix } from "@sker/testkit/rabbit";
import { RABBITMQ_URL } from "@sker/testkit/urls";
import { tcpProxy } from "@sker/testkit/tcp-proxy";

// The task queue's contract, checked on both implementations: priorities, bounded unsettled
// deliveries, requeue, delayed retries, dead letters and the cancel fanout; and for RabbitMQ,
// recovery after the connection is cut (through a proxy, not the shared RabbitMQ).

const log = createLogger("broker-test", "silent");
const BASE = 100;
const MAX = 400;
const prefixes: string[] = [];
const opened: TaskQueue[] = [];

function open(kind: "rabbit" | "memory", prefix: string, url = RABBITMQ_URL): TaskQueue {
  const q = kind === "rabbit" ? rabbitTaskQueue({ url, prefix, retryBaseMs: BASE, retryMaxMs: MAX, log, publishTimeoutMs: 5_000, heartbeatSeconds: 2 }) : memoryTaskQueue(prefix);
  opened.push(q);
  return q;
}

const msg = (n: number) => ({ taskId: `task-${n}`, projectId: "p" });

async function until(cond: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await sleep(20);
  }
}

afterAll(async () => {
  await Promise.allSettled(opened.map((q) => q.close()));
  for (const p of prefixes) await deleteTopology(p, BASE, MAX);
});

describe.each(["rabbit", "memory"] as const)("%s task queue", (kind) => {
  const fresh = () => {
    const p = uniquePrefix(`queue-${kind}`);
    prefixes.push(p);
    return open(kind, p);
  };

  it("delivers urgent work before normal work queued earlier", async () => {
    const q = fresh();
    for (let i = 0; i < 5; i++) await q.publish(msg(i), 2);
    await q.publish(msg(99), 4);
    const seen: string[] = [];
    await q.consume(1, async (d) => {
      seen.push(d.message.taskId);
      return "ack";
    });
    await until(() => seen.length === 6);
    expect(seen[0]).toBe("task-99");
    expect(seen.slice(1)).toEqual(["task-0", "task-1", "task-2", "task-3", "task-4"]);
  });

  it("delivers a reclaimed task before older work of its priority, after higher priorities", async () => {
    const q = fresh();
    for (let i = 0; i < 3; i++) await q.publish(msg(i), 2);
    await q.publish(msg(50), 3);
    await q.publish(msg(77), 2, { reclaimed: true });
    const seen: { id: string; priority: number }[] = [];
    await q.consume(1, async (d) => {
      seen.push({ id: d.message.taskId, priority: d.priority });
      return "ack";
    });
    await until(() => seen.length === 5);
    expect(seen.map((s) => s.id)).toEqual(["task-50", "task-77", "task-0", "task-1", "task-2"]);
    // A delivery carries the task's own priority (a retry keeps it), not the queue's level.
    expect(seen.map((s) => s.priority)).toEqual([3, 2, 2, 2, 2]);
  });

  it("keeps at most prefetch deliveries unsettled and redelivers a requeued one", async () => {
    const q = fresh();
    let open = 0;
    let peak = 0;
    const settled: string[] = [];
    const tries = new Map<string, Delivery[]>();
    await q.consume(3, async (d): Promise<Settle> => {
      open++;
      peak = Math.max(peak, open);
      tries.set(d.message.taskId, [...(tries.get(d.message.taskId) ?? []), d]);
      await sleep(30);
      open--;
      if (d.message.taskId === "task-0" && tries.get("task-0")!.length === 1) return "requeue";
      settled.push(d.message.taskId);
      return "ack";
    });
    for (let i = 0; i < 10; i++) await q.publish(msg(i), 2);
    await until(() => settled.length === 10);
    expect(peak).toBe(3);
    expect(tries.get("task-0")!.map((d) => d.redelivered)).toEqual([false, true]);
  });

  it("brings a delayed message back after its delay", async () => {
    const q = fresh();
    const got: number[] = [];
    await q.consume(1, async () => {
      got.push(Date.now());
      return "ack";
    });
    const sent = Date.now();
    await q.publishDelayed(msg(1), 2, 250);
    await until(() => got.length === 1);
    expect(got[0] - sent).toBeGreaterThanOrEqual(200);
    expect(got[0] - sent).toBeLessThan(2_000);
  });

  it("holds dead letters until one is taken for replay", async () => {
    const q = fresh();
    for (let i = 0; i < 3; i++) await q.deadLetter({ ...msg(i), error: { code: "X", message: "boom" }, attempts: 3, failedAt: new Date().toISOString() }, 2);
    await until(() => false, 300).catch(() => undefined); // let RabbitMQ count them
    expect((await q.stats()).deadLetters).toBe(3);
    const taken = await q.takeDeadLetter("task-1");
    expect(taken).toMatchObject({ taskId: "task-1", attempts: 3, error: { code: "X" } });
    expect(await q.takeDeadLetter("task-1")).toBeUndefined();
    await sleep(200);
    expect((await q.stats()).deadLetters).toBe(2);
    expect(await q.takeDeadLetter("task-2")).toMatchObject({ taskId: "task-2" });
  });

  it("drops dead letters past retention, oldest first, and keeps the rest", async () => {
    const q = fresh();
    const daysAgo = (d: number) => new Date(Date.now() - d * 86_400_000).toISOString();
    for (const [i, age] of [[0, 40], [1, 35], [2, 1]] as const) await q.deadLetter({ ...msg(i), error: { code: "X", message: "boom" }, attempts: 3, failedAt: daysAgo(age) }, 2);
    await sleep(300);
    expect(await q.pruneDeadLetters(new Date(Date.now() - 30 * 86_400_000))).toBe(2);
    await sleep(200);
    expect((await q.stats()).deadLetters).toBe(1);
    expect(await q.takeDeadLetter("task-0")).toBeUndefined();
    expect(await q.takeDeadLetter("task-2")).toMatchObject({ taskId: "task-2" });
    expect(await q.pruneDeadLetters(new Date())).toBe(0);
  });

  it("fans a cancel out to every broker on the prefix", async () => {
    const p = uniquePrefix(`cancel-${kind}`);
    prefixes.push(p);
    const a = open(kind, p);
    const b = open(kind, p);
    const heard: string[] = [];
    await a.onCancel((id) => heard.push(`a:${id}`));
    await b.onCancel((id) => heard.push(`b:${id}`));
    await sleep(100);
    await a.broadcastCancel("t1");
    await until(() => heard.length === 2);
    expect(heard.sort()).toEqual(["a:t1", "b:t1"]);
  });
});

describe("rabbit task queue across a lost connection", () => {
  it("publishes what was sent while cut and its consumer comes back by itself", async () => {
    const prefix = uniquePrefix("reconnect");
    prefixes.push(prefix);
    const proxy = await tcpProxy({ host: "127.0.0.1", port: Number(new URL(RABBITMQ_URL).port || 5672) });
    const viaProxy = open("rabbit", prefix, RABBITMQ_URL.replace(/:\d+$/, `:${proxy.port}`));
    const got = new Set<string>();
    await viaProxy.consume(4, async (d) => {
      got.add(d.message.taskId);
      return "ack";
    });
    await viaProxy.publish(msg(0), 2);
    await until(() => got.has("task-0"));

    proxy.cut();
    await sleep(300);
    const direct = open("rabbit", prefix);
    for (let i = 1; i <= 5; i++) await direct.publish(msg(i), 2);
    // A publish through the cut connection waits for the reconnect and its confirm.
    const pending = viaProxy.publish(msg(6), 2);
    await sleep(1_500);
    expect(got.size).toBe(1);
    proxy.restore();
    await pending;
    await until(() => got.size === 7, 15_000);
    await proxy.close();
  });
});

describe("rabbit task queue on a flapping connection", () => {
  it("survives drops in the middle of channel setup (no unhandled error) and still delivers", async () => {
    const prefix = uniquePrefix("flap");
    prefixes.push(prefix);
    const proxy = await tcpProxy({ host: "127.0.0.1", port: Number(new URL(RABBITMQ_URL).port || 5672) });
    const q = open("rabbit", prefix, RABBITMQ_URL.replace(/:\d+$/, `:${proxy.port}`));
    const got = new Set<string>();
    await q.consume(2, async (d) => {
      got.add(d.message.taskId);
      return "ack";
    });
    await q.onCancel(() => undefined);
    // Cut while the wrappers reconnect and re-run their setups (topology, prefetch, consume).
    for (let i = 0; i < 8; i++) {
      proxy.cut();
      await sleep(30 + ((i * 37) % 90));
      proxy.restore();
      await sleep(40 + ((i * 53) % 120));
    }
    await q.publish(msg(42), 2);
    await until(() => got.has("task-42"), 15_000);
    await q.close();
    await proxy.close();
  }, 40_000);
});

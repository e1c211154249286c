import { describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import type { BusEvent, EventBus } from "@sker/kit";
import { loadBrokerConfig } from "../src/config.js";
import { parseOutput } from "../src/providers/prompt.js";
import { ProviderError, parseRetryAfter } from "../src/providers/errors.js";
import { delayQueueFor, queueNames } from "../src/queue/names.js";
import { priorityOfTask } from "../src/queue/types.js";
import { DEFAULT_PACING, progressBatcher, progressInterval } from "../src/worker/progress.js";
import { backoffMs, classify, Stop } from "../src/worker/retry.js";
import { Attempts } from "../src/worker/attempts.js";

// The broker's small pure pieces: config errors, backoff, delay-queue choice, context budget,
// progress batching and output parsing.

const secret = { JWT_SECRET: "x".repeat(40), SKER_DATA_DIR: "/tmp/sker-broker-units" };

describe("config", () => {
  it("names the variable that is wrong", () => {
    expect(() => loadBrokerConfig({ ...secret, BROKER_CONCURRENCY: "0" })).toThrow(/BROKER_CONCURRENCY/);
    expect(() => loadBrokerConfig({ ...secret, AI_PROVIDER: "gpt" })).toThrow(/AI_PROVIDER must be one of/);
    expect(() => loadBrokerConfig({ ...secret, AI_PROVIDER: "openai" })).toThrow(/OPENAI_API_KEY/);
    expect(() => loadBrokerConfig({ ...secret, AI_PROVIDER: "anthropic" })).toThrow(/ANTHROPIC_API_KEY/);
    expect(() => loadBrokerConfig({ ...secret, RABBITMQ_URL: "http://x" })).toThrow(/RABBITMQ_URL/);
    expect(() => loadBrokerConfig({ ...secret, AI_TASK_TIMEOUT: "soon" })).toThrow(/AI_TASK_TIMEOUT/);
    expect(() => loadBrokerConfig({ ...secret, BROKER_RETRY_BASE_MS: "5000", BROKER_RETRY_MAX_MS: "1000" })).toThrow(/BROKER_RETRY_MAX_MS/);
    expect(() => loadBrokerConfig({ ...secret, BROKER_RETRY_MAX_MS: "60000", BROKER_RECLAIM_QUEUED_AFTER_MS: "60000" })).toThrow(/BROKER_RECLAIM_QUEUED_AFTER_MS/);
    expect(loadBrokerConfig({ ...secret, BROKER_RETRY_MAX_MS: "60000" }).reclaimQueuedAfterMs).toBe(120_000);
  });

  it("has the documented defaults", () => {
    const c = loadBrokerConfig(secret);
    expect(c).toMatchObject({ port: 3002, host: "127.0.0.1", metricsPort: 9465, concurrency: 512, submitConcurrency: 8, maxRunningPerProject: 64, maxRunningPerUser: 32, maxAttempts: 3, taskTimeoutMs: 600_000, queuePrefix: "sker", eventsExchange: "sker.events", rabbitmqUrl: undefined });
    expect(c.localTokenDelayMs).toBe(20);
    expect(c.models.defaultModel).toBe("local");
    expect([...c.models.models.keys()]).toEqual(["local"]);
  });
});

describe("retry policy", () => {
  it("backs off exponentially with jitter in the upper half, capped, never before Retry-After", () => {
    expect(backoffMs(1, 1000, 60_000, 0, () => 0)).toBe(500);
    expect(backoffMs(1, 1000, 60_000, 0, () => 1)).toBe(1000);
    expect(backoffMs(3, 1000, 60_000, 0, () => 1)).toBe(4000);
    expect(backoffMs(20, 1000, 60_000, 0, () => 1)).toBe(60_000);
    expect(backoffMs(1, 1000, 60_000, 7_000, () => 0)).toBe(7_000);
  });

  it("classes failures", () => {
    expect(classify(new Stop("timeout"), 5)).toMatchObject({ code: "AI_TIMEOUT", transient: true });
    expect(classify(new ProviderError("PROVIDER_HTTP_401", "bad key", false), 5)).toMatchObject({ transient: false });
    expect(classify(new Error("boom"), 5)).toMatchObject({ code: "INTERNAL", transient: true });
  });

  it("reads Retry-After in seconds, milliseconds and as a date", () => {
    const h = (v: Record<string, string>) => ({ get: (k: string) => v[k] ?? null });
    expect(parseRetryAfter(h({ "retry-after": "3" }))).toBe(3000);
    expect(parseRetryAfter(h({ "retry-after-ms": "250" }))).toBe(250);
    const later = parseRetryAfter(h({ "retry-after": new Date(Date.now() + 10_000).toUTCString() }))!;
    expect(later).toBeGreaterThan(8_000);
    expect(parseRetryAfter(h({}))).toBeUndefined();
  });

  it("picks the shortest delay queue that covers the delay", () => {
    const n = queueNames("p", 1000, 5000);
    expect(n.delayQueues.map((q) => q.ttl)).toEqual([1000, 2000, 4000, 5000]);
    expect(delayQueueFor(n, 1500).ttl).toBe(2000);
    expect(delayQueueFor(n, 60_000).ttl).toBe(5000);
  });

  it("maps task priorities to AMQP priorities", () => {
    expect(priorityOfTask("TASK_PRIORITY_URGENT")).toBe(4);
    expect(priorityOfTask("TASK_PRIORITY_LOW")).toBe(1);
    expect(priorityOfTask("TASK_PRIORITY_UNSPECIFIED")).toBe(2);
  });
});

describe("progress batching", () => {
  function recordingBus() {
    const events: BusEvent[] = [];
    const bus: EventBus = {
      connected: true,
      publish: async (e) => void events.push(e),
      subscribe: async () => {
        throw new Error("unused");
      },
      close: async () => undefined,
    };
    return { bus, events };
  }

  it("sends the first piece at once, then one event per 512 characters or 50 ms, in order, and flushes the rest on close", async () => {
    const { bus, events } = recordingBus();
    const sink = progressBatcher(bus, "p1", "t1");
    sink.push("first");
    await sleep(0);
    // No wait for the first token: a viewer sees it as soon as the provider sends it.
    expect(events.map((e) => (e.data as { delta: string }).delta)).toEqual(["first"]);
    sink.push("x");
    await sleep(0);
    expect(events.length).toBe(1); // within 50 ms of the last event: gathered
    for (let i = 0; i < 300; i++) sink.push("ab"); // 601 chars waiting → 1 full batch, the rest held
    await sleep(0);
    expect(events.length).toBe(2);
    expect((events[1].data as { delta: string }).delta.length).toBe(513);
    sink.push("tail");
    await sleep(80);
    expect(events.length).toBe(3);
    await sleep(60);
    sink.push("after a quiet spell");
    await sleep(0);
    expect(events.length).toBe(4);
    sink.push("end");
    await sink.close();
    const data = events.map((e) => e.data as { taskId: string; index: number; delta: string });
    expect(data.map((d) => d.index)).toEqual([0, 1, 2, 3, 4]);
    expect(data.map((d) => d.delta).join("")).toBe("firstx" + "ab".repeat(300) + "tail" + "after a quiet spell" + "end");
    expect(events.every((e) => e.seq === null && e.name === "task.progress" && e.projectId === "p1")).toBe(true);
  });

  it("spaces each stream's events further apart when many stream at once, up to 250 ms, the first piece still at once", async () => {
    expect([1, 20, 40, 100, 5_000].map((n) => progressInterval(DEFAULT_PACING, n))).toEqual([50, 50, 100, 250, 250]);
    const { bus, events } = recordingBus();
    let streams = 500;
    const sink = progressBatcher(bus, "p1", "t1", { streams: () => streams });
    sink.push("first");
    await sleep(0);
    expect(events.length).toBe(1);
    sink.push("second");
    await sleep(120);
    expect(events.length).toBe(1); // 500 streams: 250 ms between this stream's events
    await sleep(180);
    expect(events.length).toBe(2);
    streams = 10; // the load has gone: back to 50 ms
    sink.push("third");
    await sleep(0);
    sink.push("fourth");
    await sleep(80);
    expect(events.map((e) => (e.data as { delta: string }).delta)).toEqual(["first", "second", "third", "fourth"]);
    await sink.close();
  });
});

describe("progress while the bus is down", () => {
  it("drops the rest of the preview after a failed publish and never holds close() long", async () => {
    let calls = 0;
    const bus: EventBus = {
      connected: true,
      publish: async () => {
        calls++;
        await sleep(300);
        throw new Error("bus unreachable");
      },
      subscribe: async () => {
        throw new Error("unused");
      },
      close: async () => undefined,
    };
    const sink = progressBatcher(bus, "p1", "t1");
    for (let i = 0; i < 10; i++) sink.push("x".repeat(64));
    const started = Date.now();
    await sink.close();
    expect(Date.now() - started).toBeLessThan(1_200);
    expect(calls).toBe(1);
  });
});

describe("output parsing", () => {
  it("takes title, content and tags from the text format, leniently", () => {
    expect(parseOutput("generate", "# Heading\nBody text\nTags: A, b, a")).toMatchObject({ title: "Heading", content: "Body text", tags: ["a", "b"] });
    expect(parseOutput("optimize", "Just a body without a title line")).toMatchObject({ title: "Just a body without a title line", tags: [] });
  });

  it("refuses empty text and a malformed analysis as retryable provider errors", () => {
    expect(() => parseOutput("generate", "  ")).toThrow(ProviderError);
    expect(() => parseOutput("analyze", "I think it is important")).toThrow(/JSON/);
    expect(parseOutput("analyze", 'Sure: {"semanticType":"Idea","importance":9,"confidence":1.4,"tags":[]}')).toMatchObject({ semanticType: "idea", importance: 5, confidence: 1 });
  });
});

describe("attempts and cancels", () => {
  it("aborts a running attempt, and one whose cancel arrived while it was still starting", () => {
    const a = new Attempts();
    const running = a.begin("t1");
    a.cancel("t1");
    expect(running.signal.aborted).toBe(true);
    expect((running.signal.reason as Stop).why).toBe("cancelled");
    a.end("t1");

    a.cancel("t2"); // StartTask still in flight: nothing to abort yet
    const late = a.begin("t2");
    expect(late.signal.aborted).toBe(true);
    a.end("t2");
    expect(a.begin("t2").signal.aborted).toBe(false); // remembered once only
    expect(a.begin("t3").signal.aborted).toBe(false);
    a.abortAll(new Stop("shutdown"));
    expect(a.size).toBe(2);
  });
});

describe("one delivery per task at a time in a process", () => {
  it("refuses a second hold of a held task until it is released", () => {
    const a = new Attempts();
    expect(a.hold("t1")).toBe(true);
    expect(a.hold("t1")).toBe(false);
    expect(a.hold("t2")).toBe(true);
    a.release("t1");
    expect(a.hold("t1")).toBe(true);
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { sql } from "kysely";
import { TaskType } from "@sker/contracts/store/v1/task";
import { startHarness, type Harness } from "./support/harness.js";

// Fair workers: one user's burst cannot hold every worker. Running tasks are capped per user
// and per project (counted by the store, over all brokers); a task over a cap goes to the back
// of the line, so another user's task queued behind the burst starts at once.

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.shutdown();
});

describe("fair workers", () => {
  it("user A submits 200 tasks; user B's one task starts within seconds while A never runs more than the cap", async () => {
    // (A lease long enough that a loaded machine's slow renewals do not lose it.)
    // 16 workers, a cap of 8 per user; ~40 tokens at 25 ms: each of A's tasks holds a worker
    // for about a second, so without the cap A would fill every worker for ~12 s.
    const broker = await h.startBroker({ BROKER_CONCURRENCY: "16", LOCAL_AI_TOKEN_DELAY_MS: "25", BROKER_MAX_RUNNING_PER_USER: "8", BROKER_DEFER_MS: "500", BROKER_LEASE_MS: "15000" });
    const client = h.client(broker.port);
    const a = await h.seed(0);
    const b = await h.seed(0);
    const ids: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < 200) {
          next++;
          const { task } = await client.submitTask({ projectId: a.projectId, type: TaskType.TASK_TYPE_GENERATE, prompt: "burst" }, { token: a.user.token });
          ids.push(task!.id);
        }
      }),
    );
    let peak = 0;
    const sampling = (async () => {
      for (let i = 0; i < 40; i++) {
        const row = await h.store.db
          .selectFrom("tasks")
          .select(sql<number>`count(*)::int`.as("n"))
          .where("created_by", "=", a.user.id)
          .where("status", "=", "running")
          .executeTakeFirstOrThrow();
        peak = Math.max(peak, Number(row.n));
        await sleep(100);
      }
    })();
    const { task } = await client.submitTask({ projectId: b.projectId, type: TaskType.TASK_TYPE_GENERATE, prompt: "just one" }, { token: b.user.token });
    await h.waitForStatus(task!.id, ["running", "completed"], 30_000);
    const aDone = await h.store.db.selectFrom("tasks").select(sql<number>`count(*)::int`.as("n")).where("created_by", "=", a.user.id).where("status", "=", "completed").executeTakeFirstOrThrow();
    await sampling;
    const theirs = await h.task(task!.id);
    const waited = theirs.startedAt!.getTime() - theirs.createdAt!.getTime();
    console.log(`fairness: B's task started ${waited} ms after submit; A had ${aDone.n} of 200 done by then; A's peak running ${peak} (cap 8)`);
    // Without the cap B's task starts only after the ~190 of A's queued ahead of it have
    // started (A mostly done). 2 s is the target on an idle machine; the absolute bound here is
    // generous because this machine is shared and loaded, and the relative one holds anyway.
    expect(Number(aDone.n)).toBeLessThan(120);
    expect(waited).toBeLessThan(10_000);
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(8);
    // Deferral spends no attempt: A's tasks went round hundreds of times, none failed, and
    // (bar a start slower than its deadline on this loaded machine) each is on its first.
    const metrics = await (await fetch(`http://127.0.0.1:${broker.metricsPort}/metrics`)).text();
    const deferred = Number(/broker_tasks_total\{[^}]*status="deferred"[^}]*\} (\d+)/.exec(metrics)?.[1] ?? 0);
    const rows = await h.store.db.selectFrom("tasks").select(["attempts", "status", "error_code", "error_message"]).where("id", "in", ids).execute();
    console.log(`fairness: ${deferred} deferrals; A's tasks: ${rows.filter((r) => r.attempts > 1).length} on a second attempt`);
    expect(deferred).toBeGreaterThan(200);
    expect(rows.filter((r) => r.status === "failed")).toEqual([]);
    expect(rows.filter((r) => r.attempts > 1).length).toBeLessThan(10);
  }, 180_000);
});

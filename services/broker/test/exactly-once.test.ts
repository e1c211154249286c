import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { TaskType } from "@sker/contracts/store/v1/task";
import { startHarness, type Harness } from "./support/harness.js";

// Nothing completes twice and nothing is lost: many tasks across two broker processes, and a
// broker killed with -9 in the middle of 50 running tasks. Brokers run as child processes on
// the real RabbitMQ; the store checks (one node version per task) are on PostgreSQL.

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.shutdown());

async function completedBy(metricsPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  let n = 0;
  for (const m of text.matchAll(/^broker_tasks_total\{[^}]*status="completed"[^}]*\} (\d+)/gm)) n += Number(m[1]);
  return n;
}

async function submitMany(port: number, token: string, projectId: string, count: number, label: string): Promise<string[]> {
  const client = h.client(port);
  const ids: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < count) {
        const i = next++;
        const { task } = await client.submitTask({ projectId, type: TaskType.TASK_TYPE_GENERATE, prompt: `${label} ${i}` }, { token });
        ids.push(task!.id);
      }
    }),
  );
  return ids;
}

describe("exactly once", () => {
  it("500 tasks across 2 broker processes: each completes exactly once", async () => {
    // Leases long enough that renewals late by seconds on a loaded machine never lose one: this
    // test is about two brokers sharing a queue, the kill -9 test below covers lost leases.
    const a = await h.spawnBroker({ BROKER_CONCURRENCY: "8", BROKER_LEASE_MS: "20000" });
    const b = await h.spawnBroker({ BROKER_CONCURRENCY: "8", BROKER_LEASE_MS: "20000" });
    // Stopped whatever the outcome, so the next test's tasks are not run by these brokers.
    onTestFinished(() => {
      a.child.kill("SIGTERM");
      b.child.kill("SIGTERM");
    });
    const { user, projectId } = await h.seed(0);
    const ids = await submitMany(a.port, user.token, projectId, 500, "bulk");
    expect(new Set(ids).size).toBe(500);
    const counts = await h.waitAllFinished(ids, 150_000);
    const errors = await h.store.db.selectFrom("tasks").select(["error_code", "error_message"]).where("id", "in", ids).where("status", "=", "failed").execute();
    expect(counts, JSON.stringify(errors.slice(0, 3))).toEqual({ completed: 500 });
    const versions = await h.versionsPerTask(ids);
    expect(versions.size).toBe(500);
    expect([...versions.values()].every((n) => n === 1)).toBe(true);
    const [byA, byB] = await Promise.all([completedBy(a.metricsPort), completedBy(b.metricsPort)]);
    expect(byA + byB).toBe(500);
    expect(byA).toBeGreaterThan(50);
    expect(byB).toBeGreaterThan(50);
  }, 200_000);

  it("kill -9 of a broker with 50 tasks running: all 50 complete exactly once", async () => {
    // ~60 tokens at 500 ms: each attempt runs for about 30 s, so all 50 are running at once
    // even when starting them takes many seconds on a loaded machine; killed mid-way.
    // One user's 50 tasks all running at once: no per-user or per-project cap here.
    // The lease outlives renewals late by seconds (a lost lease would count a third attempt).
    const uncapped = { BROKER_MAX_RUNNING_PER_USER: "0", BROKER_MAX_RUNNING_PER_PROJECT: "0" };
    const doomed = await h.spawnBroker({ BROKER_CONCURRENCY: "50", LOCAL_AI_TOKEN_DELAY_MS: "500", BROKER_LEASE_MS: "8000", ...uncapped });
    const { user, projectId } = await h.seed(0);
    const ids = await submitMany(doomed.port, user.token, projectId, 50, "doomed");
    const end = Date.now() + 60_000;
    for (;;) {
      const running = await h.store.db.selectFrom("tasks").select((eb) => eb.fn.countAll<number>().as("n")).where("id", "in", ids).where("status", "=", "running").executeTakeFirstOrThrow();
      if (Number(running.n) === 50) break;
      if (Date.now() > end) throw new Error(`only ${running.n} of 50 running`);
      await sleep(50);
    }
    doomed.child.kill("SIGKILL");
    await new Promise((r) => doomed.child.once("exit", r));

    // A survivor takes over once the dead worker's leases run out (the reaper puts them back).
    await h.startBroker({ BROKER_CONCURRENCY: "16", BROKER_LEASE_MS: "8000", ...uncapped });
    const counts = await h.waitAllFinished(ids, 60_000);
    expect(counts).toEqual({ completed: 50 });
    const versions = await h.versionsPerTask(ids);
    expect(versions.size).toBe(50);
    expect([...versions.values()].every((n) => n === 1)).toBe(true);
    const attempts = await h.store.db.selectFrom("tasks").select(["attempts"]).where("id", "in", ids).execute();
    expect(attempts.every((r) => r.attempts === 2)).toBe(true);
  }, 180_000);
});

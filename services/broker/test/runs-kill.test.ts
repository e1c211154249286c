import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { sql } from "kysely";
import { canvas } from "./support/graph.js";
import { startHarness, type Harness } from "./support/harness.js";

// A run's state lives in the store, so a broker killed with -9 in the middle of a run loses
// nothing: the reaper takes the dead worker's task back once its lease lapses, a surviving
// broker finishes it, and that completion moves the run on to the nodes that waited for it.

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.shutdown());

describe("graph runs: a broker killed mid-run", () => {
  it("kill -9 while a node runs: the run still completes, every node written exactly once", async () => {
    const doomed = await h.spawnBroker({ LOCAL_AI_TOKEN_DELAY_MS: "40", BROKER_LEASE_MS: "2000" });
    const g = await canvas(h, doomed.port);
    const p = await g.note("P");
    const a = await g.ai("A", { inputs: [p] });
    const b = await g.ai("B", { inputs: [a] });
    await g.ai("C", { inputs: [b] });
    await g.ai("D", { inputs: [a] });
    const run = await g.run();
    const end = Date.now() + 30_000;
    while (g.states(await g.getRun(run.id)).B !== "running") {
      if (Date.now() > end) throw new Error(`B never ran: ${JSON.stringify(g.states(await g.getRun(run.id)))}`);
      await sleep(20);
    }
    doomed.child.kill("SIGKILL");
    await new Promise((r) => doomed.child.once("exit", r));
    expect(g.status(await g.getRun(run.id))).toBe("running");

    await h.startBroker({ BROKER_LEASE_MS: "2000" });
    const done = await g.waitRun(run.id, 60_000);
    expect(g.status(done)).toBe("completed");
    expect(g.states(done)).toEqual({ A: "completed", B: "completed", C: "completed", D: "completed" });
    // Exactly once: one ai_run version per node of this run, and B's task took a second attempt.
    const versions = await h.store.db
      .selectFrom("node_versions")
      .select(["node_id", sql<number>`count(*)::int`.as("n")])
      .where("run_id", "=", run.id)
      .groupBy("node_id")
      .execute();
    expect(versions.map((v) => [g.name(v.node_id), Number(v.n)]).sort()).toEqual([["A", 1], ["B", 1], ["C", 1], ["D", 1]]);
    const tasks = await h.store.db.selectFrom("tasks").select(["node_id", "attempts", "status"]).where("run_id", "=", run.id).execute();
    expect(tasks).toHaveLength(4);
    expect(tasks.every((t) => t.status === "completed")).toBe(true);
    expect(tasks.find((t) => t.node_id === b)!.attempts).toBe(2);
  }, 120_000);
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { ProviderError } from "../src/providers/errors.js";
import { localProvider } from "../src/providers/local.js";
import type { Provider } from "../src/providers/index.js";
import { canvas, type Canvas } from "./support/graph.js";
import { startHarness, type Harness } from "./support/harness.js";

// Scheduling a run with the local provider streaming at 20 ms a token (about 1 s a node), so
// that parallelism, failures, cancel and human edits happen while nodes are really running.
// Real store on PostgreSQL and broker on RabbitMQ; the one seam is a provider that refuses
// any request whose prompt says FAIL (what a provider's 4xx does), and otherwise is `local`.

const TOKEN_DELAY_MS = 20;
let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  const local = localProvider(TOKEN_DELAY_MS);
  const failing: Provider = {
    name: "local",
    run: (req, onDelta, signal) => (req.prompt.includes("FAIL") ? Promise.reject(new ProviderError("PROVIDER_REFUSED", "the provider refused this request", false)) : local.run(req, onDelta, signal)),
  };
  await h.startBroker({ BROKER_CONCURRENCY: "16" }, { provider: failing });
});
afterAll(() => h?.shutdown());

async function tasksOf(runId: string) {
  return h.store.db.selectFrom("tasks").selectAll().where("run_id", "=", runId).execute();
}

async function waitState(g: Canvas, runId: string, name: string, state: string, timeoutMs = 20_000) {
  const end = Date.now() + timeoutMs;
  while (g.states(await g.getRun(runId))[name] !== state) {
    if (Date.now() > end) throw new Error(`${name} never became ${state}: ${JSON.stringify(g.states(await g.getRun(runId)))}`);
    await sleep(20);
  }
}

describe("graph runs: scheduling", () => {
  it("runs independent branches side by side: wall time is about the longest path, not the sum", async () => {
    const g = await canvas(h);
    const p = await g.note("P");
    // Four independent chains of two nodes: the longest path is 2 nodes, the sum is 8.
    const chains: string[][] = [];
    for (const b of ["A", "B", "C", "D"]) {
      const first = await g.ai(`${b}1`, { inputs: [p] });
      const second = await g.ai(`${b}2`, { inputs: [first] });
      chains.push([first, second]);
    }
    const run = await g.waitRun((await g.run()).id, 60_000);
    expect(g.status(run)).toBe("completed");
    const tasks = await tasksOf(run.id);
    const took = (id: string) => {
      const t = tasks.find((x) => x.node_id === id)!;
      return t.completed_at!.getTime() - t.started_at!.getTime();
    };
    const serial = tasks.reduce((s, t) => s + t.completed_at!.getTime() - t.started_at!.getTime(), 0);
    const longest = Math.max(...chains.map(([a, b]) => took(a) + took(b)));
    const wall = run.finishedAt!.getTime() - run.createdAt!.getTime();
    console.log(`parallel branches: wall ${wall} ms, longest path ${longest} ms, sum of the 8 nodes ${serial} ms`);
    expect(wall).toBeGreaterThanOrEqual(longest);
    // 2 of 8 nodes deep: wall time near a quarter of the sum; generous for a loaded machine.
    expect(wall).toBeLessThan(serial * 0.6);
    // The second node of each chain started only after the first completed.
    for (const [a, b] of chains) {
      const ta = tasks.find((t) => t.node_id === a)!;
      const tb = tasks.find((t) => t.node_id === b)!;
      expect(tb.started_at!.getTime()).toBeGreaterThanOrEqual(ta.completed_at!.getTime());
    }
  }, 90_000);

  it("a failed node skips its descendants; the other branches finish; the run ends failed", async () => {
    const g = await canvas(h);
    const p = await g.note("P");
    const a = await g.ai("A", { inputs: [p] });
    const bad = await g.ai("Bad", { inputs: [a], prompt: "please FAIL" });
    const c = await g.ai("C", { inputs: [bad] });
    await g.ai("D", { inputs: [c] });
    const e = await g.ai("E", { inputs: [a] });
    await g.ai("F", { inputs: [e] });
    // A join of a failed and a healthy branch is skipped too.
    await g.ai("Join", { inputs: [bad, e] });
    const run = await g.waitRun((await g.run()).id, 60_000);
    expect(g.status(run)).toBe("failed");
    expect(g.states(run)).toEqual({ A: "completed", Bad: "failed", C: "skipped", D: "skipped", E: "completed", F: "completed", Join: "skipped" });
    expect(run.nodes.find((n) => n.nodeId === bad)!.error).toMatchObject({ code: "PROVIDER_REFUSED" });
    // Skipped nodes never got a task.
    expect((await tasksOf(run.id)).map((t) => g.name(t.node_id!)).sort()).toEqual(["A", "Bad", "E", "F"]);
    expect(await g.content(c)).toBe("");
  }, 90_000);

  it("cancel stops every task of the run at once; nothing more runs or is written", async () => {
    const g = await canvas(h);
    const p = await g.note("P");
    const a = await g.ai("A", { inputs: [p] });
    const b = await g.ai("B", { inputs: [p] });
    const c = await g.ai("C", { inputs: [a, b] });
    const started = await g.run();
    await waitState(g, started.id, "A", "running");
    await waitState(g, started.id, "B", "running");
    const { run } = await h.client().cancelRun({ id: started.id }, g.as);
    expect(g.status(run!)).toBe("cancelled");
    expect(g.states(run!)).toEqual({ A: "cancelled", B: "cancelled", C: "cancelled" });
    await sleep(2_500);
    const tasks = await tasksOf(started.id);
    expect(tasks.map((t) => t.status)).toEqual(["cancelled", "cancelled"]);
    for (const id of [a, b, c]) {
      expect(await g.content(id)).toBe("");
      const node = (await h.store.clients.nodes.getNode({ id }, g.as)).node!;
      expect(node.status).toBe("NODE_STATUS_IDLE");
    }
    expect(g.status(await g.getRun(started.id))).toBe("cancelled");
    // Cancelling twice is a conflict, not a second cancel.
    await expect(h.client().cancelRun({ id: started.id }, g.as)).rejects.toMatchObject({ code: "FAILED_PRECONDITION" });
  }, 60_000);

  it("a person's edit during the run wins: the node fails with VERSION_CONFLICT and keeps their text", async () => {
    const g = await canvas(h);
    const p = await g.note("P");
    const a = await g.ai("A", { inputs: [p] });
    const b = await g.ai("B", { inputs: [a] });
    const c = await g.ai("C", { inputs: [b] });
    // Edited while its own task runs: the output arrives and is refused.
    const first = await g.run();
    await waitState(g, first.id, "A", "running");
    await g.edit(a, "A: written by a person");
    const run = await g.waitRun(first.id, 60_000);
    expect(g.status(run)).toBe("failed");
    expect(g.states(run)).toEqual({ A: "failed", B: "skipped", C: "skipped" });
    expect(run.nodes[0].error?.code).toBe("VERSION_CONFLICT");
    expect(await g.content(a)).toBe("A: written by a person");
    const { versions } = await h.store.clients.nodes.listNodeVersions({ nodeId: a }, g.as);
    expect(versions.map((v) => v.changeType)).not.toContain("CHANGE_TYPE_AI_RUN");
    // Edited while it waits for its inputs: refused when its turn comes, without a provider call.
    const second = await g.run();
    await waitState(g, second.id, "A", "running");
    await g.edit(c, "C: a person's version");
    const after = await g.waitRun(second.id, 60_000);
    expect(g.states(after)).toEqual({ A: "completed", B: "completed", C: "failed" });
    expect(after.nodes[2].error?.code).toBe("VERSION_CONFLICT");
    expect((await tasksOf(second.id)).map((t) => g.name(t.node_id!)).sort()).toEqual(["A", "B"]);
    expect(await g.content(c)).toBe("C: a person's version");
    expect(await g.content(b)).toContain("local provider");
  }, 90_000);
});

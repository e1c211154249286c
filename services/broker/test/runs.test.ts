import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError } from "@sker/kit";
import { expectAppError } from "@sker/testkit/store";
import { canvas } from "./support/graph.js";
import { startHarness, type Harness } from "./support/harness.js";

// Graph runs end to end at 0 token delay: a real store on PostgreSQL, a broker on RabbitMQ.
// Planning, cycle refusal, what a run writes, and incremental re-runs (exact sets).

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  await h.startBroker();
});
afterAll(() => h?.shutdown());

describe("graph runs: planning", () => {
  it("plans the targets' AI ancestors in topological order and writes each output as an ai_run version", async () => {
    const g = await canvas(h);
    const p = await g.note("P");
    // Created in an order that is not the dependency order: D first, A last.
    const d = await g.ai("D");
    const b = await g.ai("B");
    const c = await g.ai("C");
    const a = await g.ai("A", { inputs: [p] });
    await g.link(a, b);
    await g.link(a, c);
    await g.link(b, d);
    await g.link(c, d);
    const other = await g.ai("Other", { inputs: [p] });

    const run = await g.run({ targets: [d] });
    const order = run.nodes.map((n) => g.name(n.nodeId));
    expect(order).toHaveLength(4);
    expect(order).not.toContain("Other");
    for (const n of run.nodes) for (const dep of n.dependsOn) expect(order.indexOf(g.name(dep))).toBeLessThan(order.indexOf(g.name(n.nodeId)));
    expect(order[0]).toBe("A");
    expect(order[3]).toBe("D");
    expect(g.states(run)).toEqual({ A: "queued", B: "pending", C: "pending", D: "pending" });

    const done = await g.waitRun(run.id);
    expect(g.status(done)).toBe("completed");
    expect(g.inState(done, "completed")).toEqual(["A", "B", "C", "D"]);
    // Each node's task completed after the tasks of its inputs.
    const tasks = await h.store.db.selectFrom("tasks").select(["node_id", "started_at", "completed_at", "run_id"]).where("run_id", "=", run.id).execute();
    const at = new Map(tasks.map((t) => [t.node_id!, t]));
    expect(at.get(b)!.started_at!.getTime()).toBeGreaterThanOrEqual(at.get(a)!.completed_at!.getTime());
    expect(at.get(d)!.started_at!.getTime()).toBeGreaterThanOrEqual(Math.max(at.get(b)!.completed_at!.getTime(), at.get(c)!.completed_at!.getTime()));
    for (const id of [a, b, c, d]) {
      const { versions } = await h.store.clients.nodes.listNodeVersions({ nodeId: id }, g.as);
      expect(versions[0].changeType).toBe("CHANGE_TYPE_AI_RUN");
      expect(versions[0].runId).toBe(run.id);
      expect(versions[0].taskId).toBe(done.nodes.find((n) => n.nodeId === id)!.taskId);
      expect(await g.content(id)).toContain("local provider");
    }
    expect(await g.content(other)).toBe("");
    // The run's node inputs reached the provider: D was built from B and C.
    expect(await g.content(d)).toContain("Built from 2 linked note(s): B; C");
  }, 60_000);

  it("refuses a cycle with a 400 that names the nodes on it, and writes nothing", async () => {
    const g = await canvas(h);
    const p = await g.note("P");
    const x = await g.ai("X", { inputs: [p] });
    const y = await g.ai("Y", { inputs: [x] });
    const z = await g.ai("Z", { inputs: [y] });
    await g.link(z, x);
    const tail = await g.ai("Tail", { inputs: [z] });
    const before = await h.store.db.selectFrom("runs").select("id").where("project_id", "=", g.projectId).execute();
    const err = await expectAppError(g.run({ targets: [tail] }), "VALIDATION_ERROR", "targets");
    const cycle = (err.details as { cycle: string[] }).cycle;
    expect(new Set(cycle)).toEqual(new Set([x, y, z]));
    // In the order the links run, from any starting point.
    const i = cycle.indexOf(x);
    expect([cycle[i], cycle[(i + 1) % 3], cycle[(i + 2) % 3]]).toEqual([x, y, z]);
    expect(err.message).toContain('"X"');
    expect(await h.store.db.selectFrom("runs").select("id").where("project_id", "=", g.projectId).execute()).toEqual(before);
    expect(await h.store.db.selectFrom("tasks").select("id").where("project_id", "=", g.projectId).execute()).toEqual([]);
  });

  it("refuses targets that are not AI nodes of the project, naming the field", async () => {
    const g = await canvas(h);
    const p = await g.note("P");
    await expectAppError(g.run({ targets: [p] }), "VALIDATION_ERROR", "targets[0]");
    await expectAppError(g.run({ targets: ["not-a-uuid"] }), "VALIDATION_ERROR", "targets[0]");
    // No AI nodes at all.
    await expectAppError(g.run(), "VALIDATION_ERROR", "targets");
    const other = await canvas(h);
    const foreign = await other.ai("Foreign");
    await expectAppError(g.run({ targets: [foreign] }), "VALIDATION_ERROR", "targets[0]");
  });

  it("a recipe is set, changed and removed as an ordinary node change (version and event)", async () => {
    const g = await canvas(h);
    const n = await g.note("N");
    const c = h.store.clients.nodes;
    const set = (await c.updateNode({ id: n, recipe: { type: "optimize", prompt: "tighter", model: "m1" } }, g.as)).node!;
    expect(set.version).toBe(2);
    expect(set.recipe).toMatchObject({ type: "optimize", prompt: "tighter", model: "m1" });
    // The same recipe again is no change.
    expect((await c.updateNode({ id: n, recipe: { type: "optimize", prompt: "tighter", model: "m1" } }, g.as)).node!.version).toBe(2);
    await expectAppError(c.updateNode({ id: n, recipe: { type: "summon", prompt: "", model: "" } }, g.as), "VALIDATION_ERROR", "recipe.type");
    await expectAppError(c.updateNode({ id: n, recipe: { type: "generate", prompt: "", model: "", temperature: 7 } }, g.as), "VALIDATION_ERROR", "recipe.options.temperature");
    const cleared = (await c.updateNode({ id: n, clearRecipe: true }, g.as)).node!;
    expect(cleared.version).toBe(3);
    expect(cleared.recipe).toBeUndefined();
    // An AI node needs no title: its prompt names it until someone does.
    const untitled = (await c.createNode({ projectId: g.projectId, recipe: { type: "generate", prompt: "Risks of the landing site\nin detail", model: "" } }, g.as)).node!;
    expect(untitled.title).toBe("Risks of the landing site");
    const bare = (await c.createNode({ projectId: g.projectId, recipe: { type: "fusion", prompt: "", model: "" } }, g.as)).node!;
    expect(bare.title).toBe("AI fusion");
    const { events } = await h.store.clients.events.listEvents({ projectId: g.projectId }, g.as);
    const updates = events.filter((e) => e.name === "node.updated").map((e) => (e.payload?.resource?.value as { recipe?: unknown }).recipe);
    expect(updates).toEqual([{ type: "optimize", prompt: "tighter", model: "m1" }, undefined]);
  });
});

describe("graph runs: incremental", () => {
  it("re-runs exactly the nodes downstream of a change (a diamond and a chain)", async () => {
    const g = await canvas(h);
    const p1 = await g.note("P1");
    const p2 = await g.note("P2");
    // Diamond: P1 → A → (B, C) → D.  Chain: P2 → E → F → G.
    const a = await g.ai("A", { inputs: [p1] });
    const b = await g.ai("B", { inputs: [a] });
    const c = await g.ai("C", { inputs: [a] });
    await g.ai("D", { inputs: [b, c] });
    const e = await g.ai("E", { inputs: [p2] });
    const f = await g.ai("F", { inputs: [e] });
    await g.ai("G", { inputs: [f] });
    const all = ["A", "B", "C", "D", "E", "F", "G"];
    const rerun = async (opts = {}) => {
      const run = await g.waitRun((await g.run(opts)).id);
      expect(g.status(run), JSON.stringify(run.nodes.map((n) => [g.name(n.nodeId), n.error]))).toBe("completed");
      return { ran: g.inState(run, "completed"), cached: g.inState(run, "cached"), run };
    };

    expect((await rerun()).ran).toEqual(all);
    const again = await rerun();
    expect(again).toMatchObject({ ran: [], cached: all });
    expect(again.run.nodes.every((n) => n.taskId === "")).toBe(true);

    await g.edit(p1, "P1: rewritten notes about lunar regolith shielding");
    expect(await rerun()).toMatchObject({ ran: ["A", "B", "C", "D"], cached: ["E", "F", "G"] });

    await g.edit(f, "F: edited by hand");
    expect(await rerun()).toMatchObject({ ran: ["G"], cached: ["A", "B", "C", "D", "E", "F"] });

    await h.store.clients.nodes.updateNode({ id: c, recipe: { type: "generate", prompt: "a different question", model: "" } }, g.as);
    expect(await rerun()).toMatchObject({ ran: ["C", "D"], cached: ["A", "B", "E", "F", "G"] });

    await g.edit(p2, "P2: new supply routes via the L1 gateway");
    expect(await rerun({ targets: [g.id("F")] })).toMatchObject({ ran: ["E", "F"], cached: [] });
    expect(await rerun()).toMatchObject({ ran: ["G"], cached: ["A", "B", "C", "D", "E", "F"] });

    expect((await rerun({ force: true })).ran).toEqual(all);
  }, 120_000);

  it("records run.started, a run.node per state change and run.finished, in order", async () => {
    const g = await canvas(h);
    const p = await g.note("P");
    const a = await g.ai("A", { inputs: [p] });
    await g.ai("B", { inputs: [a] });
    const run = await g.waitRun((await g.run()).id);
    const { events } = await h.store.clients.events.listEvents({ projectId: g.projectId }, g.as);
    // The run's and its nodes' states as REST names them (the events carry the proto enums).
    const named = (v: string | undefined) => v?.replace(/^RUN_(NODE_STATE|STATUS)_/, "").toLowerCase();
    const data = (e: (typeof events)[number]) => {
      const r = e.payload?.resource;
      if (r?.$case === "runNode") return { nodeId: r.value.node?.nodeId, state: named(r.value.node?.state) };
      return r?.$case === "run" ? { status: named(r.value.status), nodes: r.value.nodes.map((n) => ({ state: named(n.state) })) } : {};
    };
    const runEvents = events.filter((e) => e.name.startsWith("run.")).map((e) => [e.name, data(e).nodeId ? `${g.name(data(e).nodeId!)}:${data(e).state}` : data(e).status]);
    expect(runEvents).toEqual([
      ["run.started", "running"],
      ["run.node", "A:queued"],
      ["run.node", "A:running"],
      ["run.node", "A:completed"],
      ["run.node", "B:queued"],
      ["run.node", "B:running"],
      ["run.node", "B:completed"],
      ["run.finished", "completed"],
    ]);
    expect(g.status(run)).toBe("completed");
    const finished = data(events.find((e) => e.name === "run.finished")!);
    expect(finished.nodes!.map((n) => n.state)).toEqual(["completed", "completed"]);
  }, 60_000);
});

describe("graph runs: tenancy", () => {
  it("a non-member gets NOT_FOUND for the run and the project's runs; a viewer cannot start one", async () => {
    const g = await canvas(h);
    await g.ai("A", { inputs: [await g.note("P")] });
    const run = await g.waitRun((await g.run()).id);
    const stranger = await h.store.register("stranger");
    await expectAppError(h.store.clients.runs.getRun({ id: run.id }, { token: stranger.token }), "NOT_FOUND");
    await expectAppError(h.store.clients.runs.listRuns({ projectId: g.projectId }, { token: stranger.token }), "NOT_FOUND");
    await expectAppError(h.client().startRun({ projectId: g.projectId, targets: [], force: false }, { token: stranger.token }), "NOT_FOUND");
    await expectAppError(h.client().cancelRun({ id: run.id }, { token: stranger.token }), "NOT_FOUND");
    await h.store.clients.projects.putMember({ projectId: g.projectId, userId: stranger.id, role: "ROLE_VIEWER" }, g.as);
    expect((await h.store.clients.runs.listRuns({ projectId: g.projectId }, { token: stranger.token })).runs.map((r) => r.id)).toEqual([run.id]);
    const denied = await h.client().startRun({ projectId: g.projectId, targets: [], force: false }, { token: stranger.token }).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(AppError);
    expect((denied as AppError).code).toBe("FORBIDDEN");
  }, 60_000);
});

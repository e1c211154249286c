import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertConnection } from "../src/connections/repo.js";
import { insertNode } from "../src/nodes/repo.js";
import { findByKey, insertTask, nodesInOrder, reclaim, renewLease, takeLease, upstreamCandidates } from "../src/tasks/repo.js";
import type { NewTaskInput } from "../src/tasks/validate.js";
import { createTestDb, type TestDb } from "@sker/testkit/db";

// The task SQL on both engines: conditional lease taking, idempotent insert, reclaim, context.

describe.each(["pg", "pglite"] as const)("task repository on %s", (driver) => {
  let t: TestDb;
  let projectId: string;
  let userId: string;
  const task = (over: Partial<NewTaskInput> = {}): NewTaskInput => ({
    projectId,
    type: "generate",
    nodeId: null,
    sourceNodeIds: [],
    prompt: "p",
    options: {},
    priority: "normal",
    idempotencyKey: null,
    ...over,
  });

  beforeAll(async () => {
    t = await createTestDb(driver);
    userId = (await t.db.insertInto("users").values({ email: "r@x.test", username: "r", password_hash: "x", settings: "{}" }).returning("id").executeTakeFirstOrThrow()).id;
    projectId = (await t.db.insertInto("projects").values({ name: "P", owner_id: userId, canvas_data: "{}", settings: "{}" }).returning("id").executeTakeFirstOrThrow()).id;
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  it("an idempotency key inserts once per user", async () => {
    const first = await insertTask(t.db, task({ idempotencyKey: "k" }), userId, null, {});
    expect(first).toBeDefined();
    expect(await insertTask(t.db, task({ idempotencyKey: "k", prompt: "other" }), userId, null, {})).toBeUndefined();
    expect((await findByKey(t.db, userId, "k"))!.id).toBe(first!.id);
    // The task's queue message comes with it, in the same statement; the refused one has none.
    const dispatches = await t.db.selectFrom("task_dispatches").select(["task_id", "trace"]).where("task_id", "=", first!.id).execute();
    expect(dispatches).toEqual([{ task_id: first!.id, trace: {} }]);
  });

  it("takes a lease only when queued or lapsed; renews only for the holder", async () => {
    const row = (await insertTask(t.db, task(), userId, null, {}))!;
    const taken = await takeLease(t.db, row.id, "w1", 60_000);
    expect(taken).toMatchObject({ status: "running", lease_owner: "w1", attempts: 1 });
    expect(await takeLease(t.db, row.id, "w2", 60_000)).toBeUndefined();
    expect(await renewLease(t.db, row.id, "w2", 1_000)).toBeUndefined();
    expect(await renewLease(t.db, row.id, "w1", 1)).toBeDefined();
    await new Promise((r) => setTimeout(r, 20));
    expect(await takeLease(t.db, row.id, "w2", 60_000)).toMatchObject({ lease_owner: "w2", attempts: 2 });
  });

  it("reclaims lapsed and stale tasks, bumping them so a second pass finds none", async () => {
    await t.db.updateTable("tasks").set({ status: "cancelled" }).execute();
    const lapsed = (await insertTask(t.db, task(), userId, null, {}))!;
    const fresh = (await insertTask(t.db, task(), userId, null, {}))!;
    await takeLease(t.db, lapsed.id, "dead", 1);
    await new Promise((r) => setTimeout(r, 20));
    const got = await t.db.transaction().execute((trx) => reclaim(trx, 60_000, 10));
    expect(got.map((g) => [g.before.status, g.after.status, g.after.id])).toEqual([["running", "queued", lapsed.id]]);
    expect(await t.db.transaction().execute((trx) => reclaim(trx, 60_000, 10))).toEqual([]);
    const stale = await t.db.transaction().execute((trx) => reclaim(trx, 1, 10));
    expect(stale.map((g) => g.after.id).sort()).toEqual([lapsed.id, fresh.id].sort());
  });

  it("context is the live upstream nodes plus sources, in creation order, never the target", async () => {
    const mk = (title: string) => insertNode(t.db, { project_id: projectId, title, tags: [], metadata: "{}", created_by: userId }, { changeType: "create", createdBy: userId });
    const [u1, target, src, gone] = [await mk("u1"), await mk("target"), await mk("src"), await mk("gone")];
    await insertConnection(t.db, { projectId, sourceNodeId: u1.id, targetNodeId: target.id, type: "input", createdBy: userId });
    await insertConnection(t.db, { projectId, sourceNodeId: gone.id, targetNodeId: target.id, type: "input", createdBy: userId });
    await t.db.updateTable("nodes").set({ deleted_at: new Date() }).where("id", "=", gone.id).execute();
    const candidates = await upstreamCandidates(t.db, projectId, target.id, [src.id, target.id]);
    const ctx = await nodesInOrder(t.db, candidates.map((c) => c.id));
    expect(ctx.map((n) => n.title)).toEqual(["u1", "src"]);
  });
});

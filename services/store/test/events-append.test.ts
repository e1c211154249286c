import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendEvent, appendEvents, batchEvents } from "../src/events/append.js";
import type { Resource } from "../src/events/payload.js";
import { createTestDb, type Driver, type TestDb } from "@sker/testkit/db";

// appendEvents writes a transaction's events with one statement: the counter bump and the rows
// together. On both drivers the seqs must follow the given order, the ids too (the relay
// publishes in id order), and a rollback must give the numbers back.
for (const driver of ["pg", "pglite"] as Driver[]) {
  describe(`appendEvents (${driver})`, () => {
    let t: TestDb;
    let projectId: string;
    beforeAll(async () => {
      t = await createTestDb(driver);
      const user = await t.db.insertInto("users").values({ email: `a-${driver}@example.test`, username: `a_${driver}`, password_hash: "x" }).returning("id").executeTakeFirstOrThrow();
      projectId = (await t.db.insertInto("projects").values({ name: "p", canvas_data: "{}", settings: "{}", owner_id: user.id }).returning("id").executeTakeFirstOrThrow()).id;
    });
    afterAll(async () => {
      await t?.cleanup();
    });

    const gone = (id: string): Resource => ({ $case: "deleted", value: { id } });

    it("numbers a batch in order after the single events before it, each with its payload and actor", async () => {
      await t.db.transaction().execute((trx) => appendEvent(trx, projectId, "first", gone("n0"), { userId: null }));
      const seqs = await t.db.transaction().execute((trx) =>
        appendEvents(trx, projectId, [
          { name: "a", resource: gone("it's \"quoted\""), actor: { userId: null } },
          { name: "b", resource: { $case: "memberRemoved", value: { projectId, userId: "u1" } }, actor: { userId: null, taskId: null } },
          { name: "c", resource: { $case: "budgetWarning", value: { projectId, scope: "project", budget: 1, spent: 0.8, percent: 80, resetsAt: new Date("2026-12-01T00:00:00Z") } }, actor: { userId: null } },
        ]),
      );
      expect(seqs).toEqual([2, 3, 4]);
      const rows = await t.db.selectFrom("events").select(["id", "seq", "name", "payload"]).where("project_id", "=", projectId).orderBy("id").execute();
      // Kept as the protobuf JSON of the EventPayload.
      expect(rows.map((r) => [r.seq, r.name, r.payload])).toEqual([
        [1, "first", { deleted: { id: "n0" } }],
        [2, "a", { deleted: { id: "it's \"quoted\"" } }],
        [3, "b", { memberRemoved: { projectId, userId: "u1" } }],
        [4, "c", { budgetWarning: { projectId, scope: "project", budget: 1, spent: 0.8, percent: 80, resetsAt: "2026-12-01T00:00:00.000Z" } }],
      ]);
      const p = await t.db.selectFrom("projects").select("event_seq").where("id", "=", projectId).executeTakeFirstOrThrow();
      expect(Number(p.event_seq)).toBe(4);
    });

    it("gives the seqs back when the transaction rolls back, and refuses a project that does not exist", async () => {
      await expect(
        t.db.transaction().execute(async (trx) => {
          await appendEvents(trx, projectId, [{ name: "x", resource: gone("x"), actor: { userId: null } }, { name: "y", resource: gone("y"), actor: { userId: null } }]);
          throw new Error("rolled back");
        }),
      ).rejects.toThrow("rolled back");
      const next = await t.db.transaction().execute((trx) => appendEvents(trx, projectId, [{ name: "after", resource: gone("a"), actor: { userId: null } }]));
      expect(next).toEqual([5]);
      await expect(t.db.transaction().execute((trx) => appendEvent(trx, "00000000-0000-4000-8000-000000000000", "x", gone("x"), { userId: null }))).rejects.toThrow(/no such project/);
    });

    it("batchEvents holds a step's events back and writes them in order at its end, in the same transaction", async () => {
      const before = await t.db.selectFrom("events").select("seq").where("project_id", "=", projectId).execute();
      const seen = await t.db.transaction().execute((trx) =>
        batchEvents(trx, async () => {
          await appendEvent(trx, projectId, "node.created", gone("1"), { userId: null });
          await batchEvents(trx, () => appendEvent(trx, projectId, "nested", gone("2"), { userId: null }));
          await appendEvent(trx, projectId, "task.completed", gone("3"), { userId: null });
          // Nothing is written yet: the project's counter is untouched until the end.
          return (await trx.selectFrom("events").select("seq").where("project_id", "=", projectId).execute()).length;
        }),
      );
      expect(seen).toBe(before.length);
      const rows = await t.db.selectFrom("events").select(["seq", "name"]).where("project_id", "=", projectId).orderBy("id").execute();
      expect(rows.slice(-3)).toEqual([
        { seq: before.length + 1, name: "node.created" },
        { seq: before.length + 2, name: "nested" },
        { seq: before.length + 3, name: "task.completed" },
      ]);
      // A step that fails writes none of them.
      await expect(
        t.db.transaction().execute((trx) =>
          batchEvents(trx, async () => {
            await appendEvent(trx, projectId, "lost", gone("l"), { userId: null });
            throw new Error("step failed");
          }),
        ),
      ).rejects.toThrow("step failed");
      expect(await t.db.selectFrom("events").select("seq").where("name", "=", "lost").execute()).toEqual([]);
    });
  });
}

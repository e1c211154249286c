import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendEvent, appendEvents } from "../src/events/append.js";
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

    it("numbers a batch in order after the single events before it, each with its data and actor", async () => {
      await t.db.transaction().execute((trx) => appendEvent(trx, projectId, "first", { n: 0 }, { userId: null }));
      const seqs = await t.db.transaction().execute((trx) =>
        appendEvents(trx, projectId, [
          { name: "a", data: { n: 1, text: "it's \"quoted\"" }, actor: { userId: null } },
          { name: "b", data: [1, 2], actor: { userId: null, taskId: null } },
          { name: "c", data: null, actor: { userId: null } },
        ]),
      );
      expect(seqs).toEqual([2, 3, 4]);
      const rows = await t.db.selectFrom("events").select(["id", "seq", "name", "data"]).where("project_id", "=", projectId).orderBy("id").execute();
      expect(rows.map((r) => [r.seq, r.name, r.data])).toEqual([
        [1, "first", { n: 0 }],
        [2, "a", { n: 1, text: "it's \"quoted\"" }],
        [3, "b", [1, 2]],
        [4, "c", null],
      ]);
      const p = await t.db.selectFrom("projects").select("event_seq").where("id", "=", projectId).executeTakeFirstOrThrow();
      expect(Number(p.event_seq)).toBe(4);
    });

    it("gives the seqs back when the transaction rolls back, and refuses a project that does not exist", async () => {
      await expect(
        t.db.transaction().execute(async (trx) => {
          await appendEvents(trx, projectId, [{ name: "x", data: {}, actor: { userId: null } }, { name: "y", data: {}, actor: { userId: null } }]);
          throw new Error("rolled back");
        }),
      ).rejects.toThrow("rolled back");
      const next = await t.db.transaction().execute((trx) => appendEvent(trx, projectId, "after", {}, { userId: null }));
      expect(next).toBe(5);
      await expect(t.db.transaction().execute((trx) => appendEvent(trx, "00000000-0000-4000-8000-000000000000", "x", {}, { userId: null }))).rejects.toThrow(/no such project/);
    });
  });
}

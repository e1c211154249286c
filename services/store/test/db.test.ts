import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendEvent } from "../src/events/append.js";
import { createTestDb, type TestDb } from "@sker/testkit/db";

// Repository level, on both engines: the same types back, transactions that really isolate
// (PGlite is one session: its dialect must serialize), gap-free event seqs.
describe.each(["pg", "pglite"] as const)("database on %s", (driver) => {
  let t: TestDb;
  let userId: string;
  let projectId: string;
  beforeAll(async () => {
    t = await createTestDb(driver);
    userId = (await t.db.insertInto("users").values({ email: "a@example.test", username: "a", password_hash: "x", settings: "{}" }).returning("id").executeTakeFirstOrThrow()).id;
    projectId = (await t.db.insertInto("projects").values({ name: "p", owner_id: userId, canvas_data: "{}", settings: '{"k":[1,2]}' }).returning("id").executeTakeFirstOrThrow()).id;
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  it("returns the same JavaScript types from both drivers", async () => {
    const row = await t.db.selectFrom("projects").selectAll().where("id", "=", projectId).executeTakeFirstOrThrow();
    expect(typeof row.event_seq).toBe("number");
    expect(row.created_at).toBeInstanceOf(Date);
    expect(row.settings).toEqual({ k: [1, 2] });
    const { n } = await t.db.selectFrom("projects").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
    expect(n).toBe(1);
    const big = await sql<{ v: number; arr: number[] }>`select 9007199254740991::int8 as v, array[1, 2]::int8[] as arr`.execute(t.db);
    expect(big.rows[0]).toEqual({ v: 9007199254740991, arr: [1, 2] });
    const node = await t.db.insertInto("nodes").values({ project_id: projectId, tags: ["a", "b"], metadata: "{}" }).returning(["tags", "importance", "confidence"]).executeTakeFirstOrThrow();
    expect(node).toEqual({ tags: ["a", "b"], importance: 3, confidence: 1 });
  });

  it("isolates concurrent read-modify-write transactions (45 increments end at 45)", async () => {
    await sql`create table counter (n int not null)`.execute(t.db);
    await sql`insert into counter values (0)`.execute(t.db);
    await Promise.all(
      Array.from({ length: 45 }, () =>
        t.db.transaction().execute(async (trx) => {
          const { rows } = await sql<{ n: number }>`select n from counter for update`.execute(trx);
          await new Promise((r) => setTimeout(r, 1));
          await sql`update counter set n = ${rows[0].n + 1}`.execute(trx);
        }),
      ),
    );
    const { rows } = await sql<{ n: number }>`select n from counter`.execute(t.db);
    expect(rows[0].n).toBe(45);
  });

  it("rolls a failed transaction back and keeps serving", async () => {
    await expect(
      t.db.transaction().execute(async (trx) => {
        await appendEvent(trx, projectId, "x", {}, { userId: null });
        await trx.insertInto("nodes").values({ project_id: projectId, importance: 9, metadata: "{}" }).execute(); // CHECK fails
      }),
    ).rejects.toThrow();
    const { event_seq } = await t.db.selectFrom("projects").select("event_seq").where("id", "=", projectId).executeTakeFirstOrThrow();
    expect(event_seq).toBe(0);
    expect(await t.db.selectFrom("events").selectAll().execute()).toEqual([]);
  });

  it("hands out gap-free seqs to 30 concurrent writers", async () => {
    await Promise.all(Array.from({ length: 30 }, (_, i) => t.db.transaction().execute((trx) => appendEvent(trx, projectId, "e", { i }, { userId: null }))));
    const seqs = await t.db.selectFrom("events").select("seq").where("project_id", "=", projectId).orderBy("seq").execute();
    expect(seqs.map((s) => s.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });

  it("enforces the schema's invariants in the database itself", async () => {
    await expect(t.db.insertInto("users").values({ email: "A@EXAMPLE.TEST", username: "other", password_hash: "x", settings: "{}" }).execute()).rejects.toMatchObject({ code: "23505" });
    await expect(t.db.insertInto("nodes").values({ project_id: projectId, confidence: 2, metadata: "{}" }).execute()).rejects.toMatchObject({ code: "23514" });
  });
});

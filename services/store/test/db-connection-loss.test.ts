import { sql } from "kysely";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestDb, type TestDb } from "@sker/testkit/db";

// PostgreSQL restarting or an operator terminating sessions drops the pool's idle connections.
// That must cost a reconnect, not the store process (an unhandled 'error' event would kill it).

let testDb: TestDb;
beforeAll(async () => {
  testDb = await createTestDb("pg");
});
afterAll(() => testDb?.cleanup());

it("survives its idle connections being terminated by the server", async () => {
  await Promise.all(Array.from({ length: 4 }, () => sql`select pg_sleep(0.05)`.execute(testDb.db)));
  const admin = new pg.Client({ connectionString: "postgres://postgres@127.0.0.1:5432/postgres" });
  await admin.connect();
  const { rowCount } = await admin.query("select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()", [new URL(testDb.url!).pathname.slice(1)]);
  await admin.end();
  expect(rowCount).toBeGreaterThan(0);
  await new Promise((r) => setTimeout(r, 200));
  const { rows } = await sql<{ n: number }>`select 1 as n`.execute(testDb.db);
  expect(rows[0].n).toBe(1);
});

it("survives a connection dropped in the middle of a transaction: that transaction fails as UNAVAILABLE, the next one works", async () => {
  // The connection is lent out and idle between two statements (the transaction waits on our
  // code): the pool has taken its own error listener off it while it is lent.
  const { dependencyUnavailable } = await import("@sker/kit");
  const cut = testDb.db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx);
    const admin = new pg.Client({ connectionString: "postgres://postgres@127.0.0.1:5432/postgres" });
    await admin.connect();
    await admin.query("select pg_terminate_backend($1)", [rows[0].pid]);
    await admin.end();
    await new Promise((r) => setTimeout(r, 200));
    await sql`select 1`.execute(trx);
  });
  const err = await cut.then(() => undefined, (e: unknown) => e);
  expect(err, "the transaction must fail").toBeDefined();
  expect(dependencyUnavailable(err)?.code).toBe("UNAVAILABLE");
  const { rows } = await sql<{ n: number }>`select 1 as n`.execute(testDb.db);
  expect(rows[0].n).toBe(1);
});

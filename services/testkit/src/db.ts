/**
 * Test databases, one per test file (or per test), never shared between runs:
 *
 *   const t = await createTestDb("pg");      // CREATE DATABASE sker_t_<random> on 127.0.0.1:5432, migrated
 *   const t = await createTestDb("pglite");  // in-memory PGlite, loaded from a migrated template (~0.5 s)
 *   await t.db.selectFrom("users")...        // a Kysely<Database>
 *   await t.cleanup();                       // destroys the pool and drops the database
 *
 * Repository-level tests run on both: `describe.each(["pg", "pglite"] as const)(...)`.
 */
import { PGlite } from "@electric-sql/pglite";
import { createHash, randomBytes } from "node:crypto";
import { readFile, rename, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import type { Kysely } from "kysely";
import { kyselyOverPGlite, migrateToLatest, migrations, openDatabase, PGLITE_EXTENSIONS, type Database } from "@sker/store";
import { PG_ADMIN_URL } from "./urls.js";

export type Driver = "pg" | "pglite";

export interface TestDb {
  driver: Driver;
  db: Kysely<Database>;
  /** pg only: the connection string of this test's database. */
  url?: string;
  cleanup(): Promise<void>;
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function createPg(): Promise<TestDb> {
  const name = `sker_t_${randomBytes(6).toString("hex")}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = PG_ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
  const db = await openDatabase({ databaseUrl: url, dataDir: tmpdir(), poolSize: 20 });
  await migrateToLatest(db);
  return {
    driver: "pg",
    db,
    url,
    async cleanup() {
      await db.destroy();
      // pool.end() resolves before its sockets have closed; FORCE would kill those backends and
      // their clients report the FATAL as an unhandled error. Give them a moment to leave first.
      await admin(async (c) => {
        for (let i = 0; i < 20; i++) {
          const { rows } = await c.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1", [name]);
          if (rows[0].n === 0) break;
          await new Promise((r) => setTimeout(r, 50));
        }
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      });
    },
  };
}

/** initdb in WASM takes seconds; a migrated dump loads in ~0.5 s. Cached on disk per schema. */
async function pgliteTemplate(): Promise<Blob> {
  const schema = createHash("sha256")
    .update(Object.entries(migrations).map(([k, m]) => k + m.up.toString()).join("\n"))
    .digest("hex")
    .slice(0, 16);
  const file = join(tmpdir(), `sker-pglite-template-${schema}.tar`);
  try {
    return new Blob([await readFile(file)]);
  } catch {
    const pglite = await PGlite.create({ extensions: PGLITE_EXTENSIONS });
    const db = kyselyOverPGlite(pglite);
    await migrateToLatest(db);
    const blob = await pglite.dumpDataDir("none");
    await pglite.close();
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}`;
    await writeFile(tmp, Buffer.from(await blob.arrayBuffer()));
    await rename(tmp, file);
    return blob;
  }
}

async function createPglite(): Promise<TestDb> {
  const pglite = await PGlite.create({ loadDataDir: await pgliteTemplate(), extensions: PGLITE_EXTENSIONS });
  const db = kyselyOverPGlite(pglite);
  await migrateToLatest(db);
  return { driver: "pglite", db, cleanup: () => db.destroy() };
}

export function createTestDb(driver: Driver): Promise<TestDb> {
  return driver === "pg" ? createPg() : createPglite();
}

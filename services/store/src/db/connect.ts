import { PGlite } from "@electric-sql/pglite";
import { pg_trgm } from "@electric-sql/pglite/contrib/pg_trgm";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { Kysely } from "kysely";
import { pgDialect, pgPool } from "./pg-dialect.js";
import { CallBoundDialect } from "./call-bound.js";
import { pgliteDialect } from "./pglite-dialect.js";
import type { Database } from "./schema.js";

export interface DatabaseOptions {
  /** PostgreSQL; unset → embedded PGlite in `<dataDir>/pgdata`. */
  databaseUrl?: string;
  dataDir: string;
  poolSize?: number;
  onIdleError?: (err: Error) => void;
}

/**
 * The one place the store picks its SQL engine. Both return the same types (see the dialects),
 * and both are bound to the RPC being served (call-bound.ts: nothing commits for a caller that gave up).
 */
export async function openDatabase(opts: DatabaseOptions): Promise<Kysely<Database>> {
  if (opts.databaseUrl) return new Kysely<Database>({ dialect: new CallBoundDialect(pgDialect(pgPool({ connectionString: opts.databaseUrl, max: opts.poolSize, onIdleError: opts.onIdleError }))) });
  const dir = join(opts.dataDir, "pgdata");
  mkdirSync(dir, { recursive: true });
  const pglite = await PGlite.create(dir, { extensions: PGLITE_EXTENSIONS });
  return new Kysely<Database>({ dialect: new CallBoundDialect(pgliteDialect(pglite)) });
}

/** What the migrations need of PGlite beyond the core (search uses trigram indexes). */
export const PGLITE_EXTENSIONS = { pg_trgm };

/** A kysely over a PGlite instance made elsewhere (tests, templates); destroy() closes it. */
export function kyselyOverPGlite(pglite: PGlite): Kysely<Database> {
  return new Kysely<Database>({ dialect: new CallBoundDialect(pgliteDialect(pglite)) });
}

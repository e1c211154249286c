import pg from "pg";
import { PostgresDialect } from "kysely";
import { cancellingPool } from "./pg-cancel.js";

// node-postgres returns int8 (bigint columns, count(*)) as strings; PGlite returns numbers.
// Both drivers must give the same types, so int8 becomes a number here (our int8 values are
// seqs, ids and counts, far below 2^53).
const INT8 = 20;
const INT8_ARRAY = 1016;

const parseInt8Array = (raw: string) => ((pg.types.getTypeParser as (oid: number) => (raw: string) => unknown)(1007 /* int4[] */)(raw) as unknown[]).map(Number);

const types = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    if (oid === INT8) return (raw: string) => Number(raw);
    if (oid === INT8_ARRAY) return parseInt8Array;
    return (pg.types.getTypeParser as (oid: number, format?: string) => unknown)(oid, format);
  },
} as pg.CustomTypesConfig;

export interface PgOptions {
  connectionString: string;
  max?: number;
  /** A connection dropped by the server (restart, failover, terminate, network). */
  onIdleError?: (err: Error) => void;
}

export function pgPool(opts: PgOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: opts.connectionString,
    max: opts.max ?? 10,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    types,
  });
  // Without a listener, pg re-throws an idle connection's error and a PostgreSQL restart would
  // kill the process. The pool has already dropped that connection; the next query opens another.
  pool.on("error", (err) => opts.onIdleError?.(err));
  // While a connection is lent out the pool takes that listener off it, and one that drops
  // between two statements (a transaction waiting on our code) emitted 'error' to no one: the
  // store died on a PostgreSQL outage (the fault drill's cut). Its next statement fails instead
  // (UNAVAILABLE) and the pool discards it on release.
  pool.on("connect", (client) => client.on("error", (err) => opts.onIdleError?.(err)));
  return pool;
}

export function pgDialect(pool: pg.Pool): PostgresDialect {
  return new PostgresDialect({ pool: cancellingPool(pool) });
}

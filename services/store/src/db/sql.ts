import { sql, type RawBuilder } from "kysely";
import type { Page } from "../input/page.js";

// SQL pieces every feature's repo.ts shares.

/**
 * now() cut to milliseconds. Keyset cursors carry a JS Date (ms); a µs timestamp would not
 * round-trip, and the row at a page boundary would come back on the next page.
 */
export const nowMs = sql<Date>`date_trunc('milliseconds', now())`;

/** A millisecond timestamp as JavaScript's toISOString writes it (protobuf JSON's Timestamp). */
export const isoMs = (column: RawBuilder<Date>) => sql<string>`to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** now() plus (or, negative, minus) `ms` milliseconds: leases, claims, ages. */
export const msFromNow = (ms: number) => sql<Date>`now() + ${ms}::int * interval '1 millisecond'`;

/** Rows strictly after the cursor in (created_at, id) order (oldest first). */
export function afterCursor(page: Page) {
  const at = page.after;
  return at ? sql<boolean>`(created_at, id) > (${at.at}, ${at.id}::uuid)` : sql<boolean>`true`;
}

/** Rows strictly before the cursor in (created_at, id) order (newest first). */
export function beforeCursor(page: Page) {
  const at = page.after;
  return at ? sql<boolean>`(created_at, id) < (${at.at}, ${at.id}::uuid)` : sql<boolean>`true`;
}

/** 23505 with the name of the unique index that refused the row. */
export function uniqueViolation(err: unknown): string | undefined {
  const e = err as { code?: string; constraint?: string; message?: string };
  if (e?.code !== "23505") return undefined;
  return e.constraint ?? e.message ?? "";
}

export const isUniqueViolation = (err: unknown) => uniqueViolation(err) !== undefined;

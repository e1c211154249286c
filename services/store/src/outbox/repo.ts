import { sql, type Kysely } from "kysely";
import type { Database } from "../db/schema.js";

/** Seconds since the oldest unpublished event was written (outbox lag); 0 when all are out. */
export async function oldestUnpublishedSeconds(db: Kysely<Database>): Promise<number> {
  // The partial index events_unpublished serves the id order; ids follow commit order closely.
  const row = await db
    .selectFrom("events")
    .select(sql<number>`extract(epoch from now() - created_at)::float8`.as("seconds"))
    .where("published_at", "is", null)
    .orderBy("id")
    .limit(1)
    .executeTakeFirst();
  return Math.max(0, Number(row?.seconds ?? 0));
}

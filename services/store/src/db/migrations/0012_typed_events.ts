import { sql, type Kysely } from "kysely";

// Typed events: new rows keep the resource as the protobuf JSON of an EventPayload in
// `payload`; `data` (the REST-shaped JSON of the rows written before) is left as it was and
// decoded on read (events/legacy.ts), so old events replay without rewriting a large table at
// start, and a row written by a store replica still on the old code during a rollout is read
// the same way.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    ALTER TABLE events ADD COLUMN payload jsonb, ALTER COLUMN data DROP NOT NULL;
    ALTER TABLE events ADD CONSTRAINT events_payload_or_data CHECK (payload IS NOT NULL OR data IS NOT NULL);
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    DELETE FROM events WHERE data IS NULL;
    ALTER TABLE events DROP CONSTRAINT events_payload_or_data, DROP COLUMN payload, ALTER COLUMN data SET NOT NULL;
  `.execute(db);
}

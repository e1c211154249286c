import type { Transaction } from "kysely";
import type { Database } from "../db/schema.js";

/**
 * Writes one event row in the caller's transaction. The seq comes from bumping the project's
 * counter under its row lock: concurrent writers on one project queue here, a rollback gives
 * the number back, so seqs are gap-free and strictly increasing. The outbox relay publishes
 * the row after commit.
 */
export async function appendEvent(trx: Transaction<Database>, projectId: string, name: string, data: unknown): Promise<number> {
  const { event_seq } = await trx
    .updateTable("projects")
    .set((eb) => ({ event_seq: eb("event_seq", "+", 1) }))
    .where("id", "=", projectId)
    .returning("event_seq")
    .executeTakeFirstOrThrow();
  await trx.insertInto("events").values({ project_id: projectId, seq: event_seq, name, data: JSON.stringify(data) }).execute();
  return event_seq;
}

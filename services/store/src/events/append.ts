import type { Transaction } from "kysely";
import { EventPayload } from "@sker/contracts/store/v1/event";
import type { Database } from "../db/schema.js";
import type { Resource } from "./payload.js";

/**
 * Who caused an event: a user, or an AI task working for its user. `userId` null is the
 * system (a user deleted since, a reclaim by the broker's reaper).
 */
export interface Actor {
  userId: string | null;
  taskId?: string | null;
}

/** The actor of work an AI task does (or that is done to it on the worker's side). */
export const taskActor = (task: { id: string; created_by: string }): Actor => ({ userId: task.created_by, taskId: task.id });

/**
 * Writes one event row in the caller's transaction. The seq comes from bumping the project's
 * counter under its row lock: concurrent writers on one project queue here, a rollback gives
 * the number back, so seqs are gap-free and strictly increasing. The outbox relay publishes
 * the row after commit. The resource is kept as the protobuf JSON of its message: the mapping
 * that is lossless both ways, whatever the depth of its free JSON fields.
 */
export async function appendEvent(trx: Transaction<Database>, projectId: string, name: string, resource: Resource, actor: Actor): Promise<number> {
  const { event_seq } = await trx
    .updateTable("projects")
    .set((eb) => ({ event_seq: eb("event_seq", "+", 1) }))
    .where("id", "=", projectId)
    .returning("event_seq")
    .executeTakeFirstOrThrow();
  await trx
    .insertInto("events")
    .values({ project_id: projectId, seq: event_seq, name, payload: JSON.stringify(EventPayload.toJSON({ resource })), actor_user_id: actor.userId, actor_task_id: actor.taskId ?? null })
    .execute();
  return event_seq;
}

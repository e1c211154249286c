import { EventPayload, type Event } from "@sker/contracts/store/v1/event";
import type { EventRow } from "../db/schema.js";
import { legacyPayload } from "./legacy.js";

type ActorColumns = Pick<EventRow, "actor_user_id" | "actor_task_id">;

/** The actor as clients see it: `{userId}`, `{userId, taskId}` for AI work, null for the system. */
export function actorOf(e: ActorColumns): { userId: string; taskId?: string } | null {
  if (!e.actor_user_id && !e.actor_task_id) return null;
  return e.actor_task_id ? { userId: e.actor_user_id ?? "", taskId: e.actor_task_id } : { userId: e.actor_user_id! };
}

/** The row's resource: its typed payload, or the REST-shaped `data` of a row from before 0012. */
export function payloadOf(e: Pick<EventRow, "name" | "data" | "payload">): EventPayload {
  return e.payload ? EventPayload.fromJSON(e.payload) : legacyPayload(e.name, e.data);
}

export function eventToProto(e: Pick<EventRow, "project_id" | "seq" | "name" | "data" | "payload" | "created_at"> & ActorColumns): Event {
  const actor = actorOf(e);
  return {
    projectId: e.project_id,
    seq: e.seq,
    name: e.name,
    payload: payloadOf(e),
    at: e.created_at,
    actor: actor ? { userId: actor.userId, taskId: actor.taskId ?? "" } : undefined,
  };
}

import type { Event } from "@sker/contracts/store/v1/event";
import type { EventRow } from "../db/schema.js";

type ActorColumns = Pick<EventRow, "actor_user_id" | "actor_task_id">;

/** The actor as clients see it: `{userId}`, `{userId, taskId}` for AI work, null for the system. */
export function actorOf(e: ActorColumns): { userId: string; taskId?: string } | null {
  if (!e.actor_user_id && !e.actor_task_id) return null;
  return e.actor_task_id ? { userId: e.actor_user_id ?? "", taskId: e.actor_task_id } : { userId: e.actor_user_id! };
}

export function eventToProto(e: Pick<EventRow, "project_id" | "seq" | "name" | "data" | "created_at"> & ActorColumns): Event {
  const actor = actorOf(e);
  return {
    projectId: e.project_id,
    seq: e.seq,
    name: e.name,
    data: e.data,
    at: e.created_at,
    actor: actor ? { userId: actor.userId, taskId: actor.taskId ?? "" } : undefined,
  };
}

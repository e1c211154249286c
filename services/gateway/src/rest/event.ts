import type { BusEvent } from "@sker/kit";
import { EventPayload, type Event } from "@sker/contracts/store/v1/event";
import * as map from "./map.js";

// Events as clients see them: the resource an event carries rendered by the same mappers as the
// HTTP routes, so a node in node.updated is field for field the node GET /nodes/:id answers.

/** The `data` of an event frame: the resource as it now is, `{id}` for a deletion. */
export function eventData(p: EventPayload | undefined): unknown {
  const r = p?.resource;
  switch (r?.$case) {
    case "node":
      return map.node(r.value);
    case "connection":
      return map.connection(r.value);
    case "task":
      return map.task(r.value);
    case "project": {
      // The role in GET /projects/:id is the caller's own; an event goes to every member.
      const { role: _, ...project } = map.project(r.value)!;
      return project;
    }
    case "member":
      return map.member(r.value);
    case "memberRemoved":
      return { projectId: r.value.projectId, userId: r.value.userId, role: null };
    case "deleted":
      return { id: r.value.id };
    case "run":
      return map.run(r.value);
    case "runNode":
      return { runId: r.value.runId, ...map.runNode(r.value.node) };
    case "budgetWarning":
      return { ...r.value, resetsAt: r.value.resetsAt ? r.value.resetsAt.toISOString() : null };
    default:
      return {};
  }
}

/** A replayed event in the WebSocket frame shape (live events from the bus have the same). */
export function event(e: Event) {
  return { type: "event" as const, projectId: e.projectId, seq: e.seq, name: e.name, data: eventData(e.payload), at: e.at ? e.at.toISOString() : null, actor: actor(e.actor) };
}

/** `{userId}`, `{userId, taskId}` for AI work, null for the system. */
export function actor(a: { userId: string; taskId: string } | undefined) {
  if (!a || (!a.userId && !a.taskId)) return null;
  return a.taskId ? { userId: a.userId, taskId: a.taskId } : { userId: a.userId };
}

/**
 * A persisted event from the bus carries its payload as protobuf JSON (the store's outbox):
 * rendered here once per replica, so every listener sees the REST shape. Ephemeral events
 * (task.progress, presence) are the gateway's and the broker's own JSON and pass as they are;
 * so does a persisted one without a typed payload (a store replica on the old code during a
 * rollout sent it already rendered).
 */
export function rendered(e: BusEvent): BusEvent {
  if (e.seq === null) return e;
  const payload = EventPayload.fromJSON(e.data ?? {});
  return payload.resource ? { ...e, data: eventData(payload) } : e;
}

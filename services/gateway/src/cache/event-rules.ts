import type { BusEvent } from "@sker/kit";
import { scope } from "./invalidations.js";

/** Events that change neither a node nor who may read the project. */
const HARMLESS = /^(run|task|budget)\.|^project\.updated$/;

/**
 * The scopes a project event invalidates (the event as the hub renders it: REST-shaped `data`).
 * Node writes always come with a node.* event in the same transaction (AI results included), so
 * node.* is what changes a cached node, node.* and connection.* what change a graph. Unknown names invalidate the whole project: a new event
 * kind must never leave a stale node or a stale member behind.
 */
export function scopesOf(e: BusEvent): string[] {
  if (e.seq === null) return []; // ephemeral: task.progress, presence
  const data = e.data as { id?: unknown } | null;
  if (e.name.startsWith("node.")) return typeof data?.id === "string" ? [scope.node(data.id), scope.graph(e.projectId)] : [scope.project(e.projectId)];
  if (e.name.startsWith("connection.")) return [scope.graph(e.projectId)];
  if (e.name.startsWith("member.")) return [scope.members(e.projectId)];
  if (HARMLESS.test(e.name)) return [];
  return [scope.project(e.projectId)];
}

import { EventPayload } from "@sker/contracts/store/v1/event";

// Events written before migration 0012 kept the resource in `data` as the REST JSON of the
// time (lowercase enum values, null for an absent id, a recipe with its options nested). This
// reads them into the same EventPayload as new rows, so they replay through the one mapper
// of the gateway. It is the protobuf JSON with the enum values prefixed: each message's
// fromJSON takes the rest (ISO times, nulls as unset, fields it does not know skipped).

type Json = Record<string, any>;

const prefixed = (prefix: string, v: unknown) => (typeof v === "string" && v !== "" ? `${prefix}${v.toUpperCase()}` : undefined);

const runNode = (n: Json) => ({ ...n, state: prefixed("RUN_NODE_STATE_", n.state) });

function asProtoJson(name: string, d: Json): Json {
  const [kind, verb] = name.split(".");
  if (verb === "deleted") return { deleted: { id: d.id } };
  switch (kind) {
    case "node":
      return { node: { ...d, status: prefixed("NODE_STATUS_", d.status), recipe: d.recipe ? { ...d.recipe, ...d.recipe.options } : undefined } };
    case "connection":
      return { connection: { ...d, type: prefixed("CONNECTION_TYPE_", d.type) } };
    case "task":
      return {
        task: { ...d, type: prefixed("TASK_TYPE_", d.type), status: prefixed("TASK_STATUS_", d.status), priority: prefixed("TASK_PRIORITY_", d.priority) },
      };
    case "project":
      return { project: { ...d, status: prefixed("PROJECT_STATUS_", d.status) } };
    case "member":
      return d.role === null ? { memberRemoved: { projectId: d.projectId, userId: d.userId } } : { member: { ...d, role: prefixed("ROLE_", d.role) } };
    case "run":
      if (verb === "node") return { runNode: { runId: d.runId, node: runNode(d) } };
      return { run: { ...d, status: prefixed("RUN_STATUS_", d.status), nodes: ((d.nodes ?? []) as Json[]).map(runNode) } };
    case "budget":
      return { budgetWarning: d };
    default:
      return {};
  }
}

/** The payload of an event row written before typed events. */
export function legacyPayload(name: string, data: Json | null): EventPayload {
  return EventPayload.fromJSON(asProtoJson(name, data ?? {}));
}

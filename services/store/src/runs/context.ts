import type { Kysely } from "kysely";
import type { Database, NodeRow, TaskRow } from "../db/schema.js";
import { liveNodesIn } from "../nodes/repo.js";

/**
 * What a run task's provider call sees. The node's own content is its previous output, never an
 * input (re-running would feed on itself and the hash would not say what made the content), so
 * the inputs are everything: optimize, expand and analyze work on the first input (the target
 * note of their prompt) with the rest as context; generate and fusion take them all as context.
 */
export async function runTaskContext(db: Kysely<Database>, task: TaskRow): Promise<{ node: NodeRow | undefined; context: NodeRow[] }> {
  const inputs = await liveNodesIn(db, task.project_id, task.source_node_ids);
  if (task.type === "optimize" || task.type === "expand" || task.type === "analyze") return { node: inputs[0], context: inputs.slice(1) };
  return { node: undefined, context: inputs };
}

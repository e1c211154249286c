import type { Transaction } from "kysely";
import type { Database, NodeStatus, TaskRow } from "../db/schema.js";
import { changeNodeTx } from "../nodes/changes.js";
import { findNode } from "../nodes/repo.js";

// A node the AI is rewriting shows it: `processing` while its task runs, `completed` when the
// result is written, `error` when the task fails for good, back to `idle` when it is cancelled.
// Only tasks that rewrite their node take part (generate onto a node, optimize, analyze);
// expand, fusion and a new generate leave their inputs alone and create `completed` nodes.

type Trx = Transaction<Database>;

export function rewritesNode(task: Pick<TaskRow, "type" | "node_id" | "run_id">): boolean {
  // A graph run's task writes onto its own AI node, whatever the recipe's type.
  return task.node_id !== null && (task.run_id !== null || task.type === "optimize" || task.type === "analyze" || task.type === "generate");
}

/**
 * Sets the task's target node to `to` (a node.updated event, version + 1), when the node is
 * live and, with `from`, only while it is in that status: a user's own status wins.
 * Returns the node id when something changed, for cache invalidation.
 */
export async function markTargetNode(trx: Trx, task: TaskRow, to: NodeStatus, from?: NodeStatus): Promise<string | undefined> {
  if (!rewritesNode(task)) return undefined;
  const node = await findNode(trx, task.node_id!, { lock: true });
  if (!node || node.project_id !== task.project_id || node.status === to) return undefined;
  if (from && node.status !== from) return undefined;
  await changeNodeTx(trx, node, { status: to }, "edit", { userId: task.created_by, taskId: task.id });
  return node.id;
}

import type { Transaction } from "kysely";
import type { Database, TaskRow } from "../db/schema.js";
import { changeNodeTx } from "../nodes/changes.js";
import { findNode } from "../nodes/repo.js";
import type { NodePatch } from "../nodes/validate.js";
import type { Applied, CleanOutput } from "../tasks/apply.js";
import { NodeGone } from "../tasks/apply.js";
import { contentVersions } from "./repo.js";

type Trx = Transaction<Database>;

/** The error a run node gets when someone changed its title or content after the run began: theirs stays. */
export const editedSinceRunStarted = (currentVersion: number) => ({
  error_code: "VERSION_CONFLICT",
  error_message: `the node was edited after the run started (now at content version ${currentVersion}); the run left it as it is`,
});

export class EditedSinceRunStarted extends Error {
  constructor(readonly currentVersion: number) {
    super(editedSinceRunStarted(currentVersion).error_message);
  }
}

/**
 * A run writes its output onto the AI node itself, as a new version (ai_run, with the run and
 * task ids), and remembers the hash that produced it. If-Match against people: the node's
 * newest content version must still be the one the run saw when it began.
 */
export async function applyRunOutput(trx: Trx, task: TaskRow, out: CleanOutput): Promise<Applied> {
  const node = task.node_id ? await findNode(trx, task.node_id, { lock: true }) : undefined;
  if (!node || node.project_id !== task.project_id) throw new NodeGone();
  const rn = await trx.selectFrom("run_nodes").select(["base_version", "hash"]).where("run_id", "=", task.run_id!).where("node_id", "=", node.id).executeTakeFirstOrThrow();
  const current = (await contentVersions(trx, [node.id])).get(node.id) ?? 0;
  if (current !== rn.base_version) throw new EditedSinceRunStarted(current);
  const patch: NodePatch & { run_hash: string | null } = { status: "completed", run_hash: rn.hash };
  if (task.type === "analyze") {
    patch.confidence = out.confidence;
    if (out.semanticType) patch.semantic_type = out.semanticType;
    if (out.importance !== undefined) patch.importance = out.importance;
  } else if (out.content) {
    patch.content = out.content;
  }
  if (out.tags.length) patch.tags = out.tags;
  await changeNodeTx(trx, node, patch, "ai_run", { userId: task.created_by, taskId: task.id, runId: task.run_id }, { alwaysVersion: true });
  return { resultNodeId: node.id, touched: [node.id] };
}

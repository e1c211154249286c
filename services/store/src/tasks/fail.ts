import { notFound } from "@sker/kit";
import type { Transaction } from "kysely";
import type { Database, TaskRow } from "../db/schema.js";
import type { StoreDeps } from "../deps.js";
import { appendEvent, taskActor } from "../events/append.js";
import { payload } from "../events/payload.js";
import { forgetNodes } from "../nodes/cache.js";
import { nowMs } from "../nodes/repo.js";
import { taskFinished } from "../runs/advance.js";
import { markTargetNode, rewritesNode } from "./node-status.js";
import { findTask, setTask } from "./repo.js";

type Trx = Transaction<Database>;

export async function lockTask(trx: Trx, id: string): Promise<TaskRow> {
  const row = await findTask(trx, id, { lock: true });
  if (!row) throw notFound("task");
  return row;
}

/** Ends a task as failed, in the caller's transaction, with its event. */
export async function failTx(trx: Trx, task: TaskRow, code: string, message: string): Promise<TaskRow> {
  await markTargetNode(trx, task, "error", "processing");
  const row = await setTask(trx, task.id, {
    status: "failed",
    error_code: code,
    error_message: message,
    lease_owner: null,
    lease_expires_at: null,
    completed_at: nowMs,
  });
  await appendEvent(trx, row.project_id, "task.failed", payload.task(row), taskActor(row));
  await taskFinished(trx, row, "failed");
  return row;
}

export const NODE_GONE = "NODE_NOT_FOUND";

/** After a commit that may have changed the task's node status: drop the node's cached copy. */
export const forgetTarget = (deps: StoreDeps, task: TaskRow) => (rewritesNode(task) ? forgetNodes(deps, [task.node_id!]) : Promise.resolve());


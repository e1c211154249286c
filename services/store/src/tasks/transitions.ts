import { notFound } from "@sker/kit";
import type { Transaction, UpdateObject } from "kysely";
import type { Database, TaskRow } from "../db/schema.js";
import type { StoreDeps } from "../deps.js";
import { appendEvent, taskActor } from "../events/append.js";
import { payload } from "../events/payload.js";
import { forgetNodes } from "../nodes/cache.js";
import { nowMs } from "../db/sql.js";
import { taskFinished, taskStarted } from "../runs/advance.js";
import { markTargetNode, rewritesNode } from "./node-status.js";
import { findTask, setTask } from "./repo.js";

// Every change of a task's status, each in the caller's transaction and each with what goes
// with it: the target node's status, the task's event, the graph run's step. (A task comes
// into being queued in enqueue.ts, which graph runs call too: kept apart so that runs/advance,
// which every finish below calls, does not import this file back.)
//
//   running, failed, queued → queued      toQueued       a retryable failure, a lapsed lease, a dead-letter replay
//   queued                  → running     toRunning      StartTask, once it holds the lease
//   running                 → completed   toCompleted    CompleteTask
//   any unfinished          → failed      toFailed       a final failure, spent attempts, a deleted node, a quota
//   queued, running         → cancelled   toCancelled    CancelTask

type Trx = Transaction<Database>;

export const FINISHED = new Set(["completed", "failed", "cancelled"]);

export const NODE_GONE = "NODE_NOT_FOUND";

export async function lockTask(trx: Trx, id: string): Promise<TaskRow> {
  const row = await findTask(trx, id, { lock: true });
  if (!row) throw notFound("task");
  return row;
}

/** Back to the queue, lease released; `set` says what else the retry changes. */
export async function toQueued(trx: Trx, task: TaskRow, set: UpdateObject<Database, "tasks"> = {}): Promise<TaskRow> {
  const row = await setTask(trx, task.id, { ...set, status: "queued", lease_owner: null, lease_expires_at: null, enqueued_at: nowMs });
  await queuedEvent(trx, task, row);
  return row;
}

/** The task.queued event of a task that was not queued before (reclaims update in bulk, repo.reclaim). */
export async function queuedEvent(trx: Trx, before: TaskRow, after: TaskRow): Promise<void> {
  if (before.status !== "queued") await appendEvent(trx, after.project_id, "task.queued", payload.task(after), taskActor(after));
}

/** What follows from a new lease (repo.takeLease): the node shows `processing`, the run its node running. */
export async function toRunning(trx: Trx, task: TaskRow): Promise<void> {
  await markTargetNode(trx, task, "processing");
  await appendEvent(trx, task.project_id, "task.started", payload.task(task), taskActor(task));
  await taskStarted(trx, task);
}

/** Answers the tasks of the graph run that this completion made ready. */
export async function toCompleted(trx: Trx, task: TaskRow, set: UpdateObject<Database, "tasks">): Promise<{ task: TaskRow; spawned: TaskRow[] }> {
  const row = await setTask(trx, task.id, {
    ...set,
    status: "completed",
    completed_at: nowMs,
    lease_owner: null,
    lease_expires_at: null,
    error_code: null,
    error_message: null,
  });
  await appendEvent(trx, row.project_id, "task.completed", payload.task(row), taskActor(row));
  return { task: row, spawned: await taskFinished(trx, row, "completed") };
}

export async function toFailed(trx: Trx, task: TaskRow, code: string, message: string): Promise<TaskRow> {
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

/**
 * A user's cancel: the node goes back to idle, unless someone set another status meanwhile.
 * `moveRun: false` when the whole graph run is being cancelled (its cancel ends the run itself).
 */
export async function toCancelled(trx: Trx, task: TaskRow, userId: string | null, { moveRun = true } = {}): Promise<TaskRow> {
  await markTargetNode(trx, task, "idle", "processing");
  const row = await setTask(trx, task.id, { status: "cancelled", lease_owner: null, lease_expires_at: null, completed_at: nowMs });
  await appendEvent(trx, row.project_id, "task.cancelled", payload.task(row), { userId });
  if (moveRun) await taskFinished(trx, row, "cancelled");
  return row;
}

/** After a commit that may have changed the task's node status: drop the node's cached copy. */
export const forgetTarget = (deps: StoreDeps, task: TaskRow) => (rewritesNode(task) ? forgetNodes(deps, [task.node_id!]) : Promise.resolve());

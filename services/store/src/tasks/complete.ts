import { AppError } from "@sker/kit";
import type { CompleteTaskRequest, CompleteTaskResponse } from "@sker/contracts/store/v1/task";
import { sql, type Transaction } from "kysely";
import type { Database, TaskRow } from "../db/schema.js";
import type { StoreDeps } from "../deps.js";
import { appendEvent, batchEvents, eventCtes, takeHeld, taskActor } from "../events/append.js";
import { payload } from "../events/payload.js";
import { nowMs } from "../db/sql.js";
import { forgetNodes } from "../nodes/cache.js";
import { refuseGrowth, withinProjectQuota } from "../quotas/enforce.js";
import type { Usage } from "../quotas/repo.js";
import { applyRunOutput, EditedSinceRunStarted } from "../runs/output.js";
import { insertLedger, recordCalls, type Recorded } from "../usage/ledger.js";
import { applyOutput, cleanOutput, NodeGone, type CleanOutput } from "./apply.js";
import { taskToProto } from "./map.js";
import { rewritesNode } from "./node-status.js";
import { lockTask, NODE_GONE, toCompleted, toFailed } from "./transitions.js";
import { checkComplete } from "./validate.js";
import { lockForComplete } from "./complete-lock.js";

type Trx = Transaction<Database>;
type Input = ReturnType<typeof checkComplete>;

interface Outcome {
  task: TaskRow;
  applied: boolean;
  wrote: boolean;
  touched: string[];
  spawned: TaskRow[];
}

async function completeTx(trx: Trx, deps: StoreDeps, input: Input, output: CleanOutput): Promise<Outcome> {
  const { task, usage: before, now, made } = await lockForComplete(trx, input.id, input.workerId, output);
  // Exactly once: a redelivery finds it completed. A worker that lost its lease (the task
  // was reclaimed, restarted elsewhere or cancelled) writes nothing either; both answer
  // applied=false with the task as it is, and the worker drops its message.
  if (task.status !== "running" || task.lease_owner !== input.workerId) return { task, applied: false, wrote: false, touched: [], spawned: [] };
  // The calls and their ledger rows join the update that ends the task (finish, toCompleted
  // or keepCalls below).
  const spent = await recordCalls(trx, task, input.calls, { later: true });
  const keepCalls = async () => {
    await insertLedger(trx, spent.ledger);
    if (spent.taskSet) await trx.updateTable("tasks").set(spent.taskSet).where("id", "=", task.id).execute();
  };
  // With calls, usage is what every call of the task spent; an older broker reports the last only.
  const usage = input.calls.length
    ? { input_tokens: task.input_tokens + spent.inputTokens, output_tokens: task.output_tokens + spent.outputTokens }
    : input.usage;
  // A graph run's task moves its run when it ends (toCompleted); any other is written by finish,
  // whose last statement reads the project's usage after the node writes for the quota check.
  const write = () => (task.run_id ? applyRunOutput(trx, task, output) : applyOutput(trx, task, output));
  let applied;
  try {
    if (made) {
      // Written by lockForComplete; its event takes its turn with the others.
      await appendEvent(trx, task.project_id, "node.created", payload.node(made), taskActor(task));
      applied = { resultNodeId: made.id, touched: [] };
    } else applied = await (task.run_id ? withinProjectQuota(trx, task.project_id, deps.config.quotas, write, before) : write());
  } catch (err) {
    if (err instanceof EditedSinceRunStarted) {
      await keepCalls();
      return { task: await toFailed(trx, task, "VERSION_CONFLICT", err.message), applied: false, wrote: true, touched: [], spawned: [] };
    }
    if (!(err instanceof NodeGone)) throw err;
  }
  if (!applied) {
    await keepCalls();
    return { task: await toFailed(trx, task, NODE_GONE, "the task's node was deleted while it ran"), applied: false, wrote: true, touched: [], spawned: [] };
  }
  const result = input.contextCut ? { ...output, contextCut: input.contextCut } : output;
  const set = { ...usage, provider: input.provider, model: input.model, result_node_id: applied.resultNodeId };
  if (task.run_id) {
    const done = await toCompleted(trx, task, { ...spent.taskSet, ...set, result: JSON.stringify(result) });
    await insertLedger(trx, spent.ledger);
    return { ...done, applied: true, wrote: true, touched: applied.touched };
  }
  const done = await finish(trx, task, now, spent, { ...set, result: { ...result } });
  refuseGrowth(deps.config.quotas, before, done.usage);
  return { task: done.task, spawned: [], applied: true, wrote: true, touched: applied.touched };
}

/**
 * The last statement of a completion without a graph run: the ledger rows, the task's update
 * and every event the transaction held back (the node's, a budget warning, task.completed),
 * answering the completed row and the project's usage after the transaction's node writes.
 * The task.completed event is the row as the update leaves it: `locked` with `set` and the
 * transaction's clock (`now`).
 */
async function finish(
  trx: Trx,
  locked: TaskRow,
  now: Date,
  spent: Recorded,
  set: Pick<TaskRow, "input_tokens" | "output_tokens" | "provider" | "model" | "result_node_id"> & { result: Record<string, unknown> },
): Promise<{ task: TaskRow; usage: Usage }> {
  const ended = { status: "completed", completed_at: now, lease_owner: null, lease_expires_at: null, error_code: null, error_message: null } as const;
  const after: TaskRow = { ...locked, ...set, ...ended, calls: [...locked.calls, ...spent.stored], cost_usd: locked.cost_usd + spent.costUsd, updated_at: now };
  const events = [...takeHeld(trx, locked.project_id), { name: "task.completed", resource: payload.task(after), actor: taskActor(after) }];
  const update = trx
    .updateTable("tasks")
    .set({ ...spent.taskSet, ...set, ...ended, result: JSON.stringify(set.result), completed_at: nowMs, updated_at: nowMs })
    .where("id", "=", locked.id)
    .returningAll();
  const ledger = spent.ledger.length ? sql`ledger AS (${trx.insertInto("usage_ledger").values(spent.ledger)}),` : sql``;
  const { rows } = await sql<TaskRow & { usage_nodes: number; usage_bytes: number }>`
    WITH ${ledger} done AS (${update}), ${eventCtes(locked.project_id, events)}
    SELECT done.*, ev_counter.node_count AS usage_nodes, ev_counter.content_bytes AS usage_bytes FROM done CROSS JOIN ev_counter
  `.execute(trx);
  const { usage_nodes, usage_bytes, ...task } = rows[0];
  return { task, usage: { nodes: Number(usage_nodes), bytes: Number(usage_bytes) } };
}

/**
 * An output that would take the project past a quota wrote nothing (its transaction rolled
 * back); the task then fails for good with QUOTA_EXCEEDED, which the user can read.
 */
async function failOverQuota(deps: StoreDeps, err: unknown, id: string, workerId: string): Promise<Outcome> {
  if (!(err instanceof AppError && err.code === "QUOTA_EXCEEDED")) throw err;
  return deps.db.transaction().execute(async (trx) => {
    const task = await lockTask(trx, id);
    if (task.status !== "running" || task.lease_owner !== workerId) return { task, applied: false, wrote: false, touched: [], spawned: [] };
    const failed = await toFailed(trx, task, "QUOTA_EXCEEDED", err.message);
    return { task: failed, applied: false, wrote: true, touched: rewritesNode(task) ? [task.node_id!] : [], spawned: [] };
  });
}

/** Writes the output onto the node(s) with a new version and the events, once. */
export async function completeTask(deps: StoreDeps, req: CompleteTaskRequest): Promise<CompleteTaskResponse> {
  const input = checkComplete(req);
  const output = cleanOutput(input.output);
  const out = await deps.db
    .transaction()
    // The node's events and the task's go out in one statement at the end.
    .execute((trx) => batchEvents(trx, () => completeTx(trx, deps, input, output)))
    .catch((err) => failOverQuota(deps, err, input.id, input.workerId));
  if (out.wrote) deps.afterCommit();
  await forgetNodes(deps, out.touched);
  return { task: taskToProto(out.task), applied: out.applied, spawned: out.spawned.map(taskToProto) };
}

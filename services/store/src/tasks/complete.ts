import { AppError, notFound } from "@sker/kit";
import type { CompleteTaskRequest, CompleteTaskResponse } from "@sker/contracts/store/v1/task";
import type { Transaction } from "kysely";
import type { Database, TaskRow } from "../db/schema.js";
import type { StoreDeps } from "../deps.js";
import { batchEvents } from "../events/append.js";
import { forgetNodes } from "../nodes/cache.js";
import { withinProjectQuota } from "../quotas/enforce.js";
import type { Usage } from "../quotas/repo.js";
import { applyRunOutput, EditedSinceRunStarted } from "../runs/output.js";
import { recordCalls } from "../usage/ledger.js";
import { applyOutput, cleanOutput, NodeGone, type CleanOutput } from "./apply.js";
import { taskToProto } from "./map.js";
import { rewritesNode } from "./node-status.js";
import { lockTask, NODE_GONE, toCompleted, toFailed } from "./transitions.js";
import { checkComplete } from "./validate.js";

type Trx = Transaction<Database>;
type Input = ReturnType<typeof checkComplete>;

interface Outcome {
  task: TaskRow;
  applied: boolean;
  wrote: boolean;
  touched: string[];
  spawned: TaskRow[];
}

/** The task, locked, and its project's usage as the quota check's starting point, in one statement. */
async function lockWithUsage(trx: Trx, id: string): Promise<{ task: TaskRow; usage: Usage }> {
  const row = await trx
    .selectFrom("tasks as t")
    .innerJoin("projects as p", "p.id", "t.project_id")
    .selectAll("t")
    .select(["p.node_count as usage_nodes", "p.content_bytes as usage_bytes"])
    .where("t.id", "=", id)
    .forUpdate("t")
    .executeTakeFirst();
  if (!row) throw notFound("task");
  const { usage_nodes, usage_bytes, ...task } = row;
  return { task, usage: { nodes: Number(usage_nodes), bytes: Number(usage_bytes) } };
}

async function completeTx(trx: Trx, deps: StoreDeps, input: Input, output: CleanOutput): Promise<Outcome> {
  const { task, usage: before } = await lockWithUsage(trx, input.id);
  // Exactly once: a redelivery finds it completed. A worker that lost its lease (the task
  // was reclaimed, restarted elsewhere or cancelled) writes nothing either; both answer
  // applied=false with the task as it is, and the worker drops its message.
  if (task.status !== "running" || task.lease_owner !== input.workerId) return { task, applied: false, wrote: false, touched: [], spawned: [] };
  // The calls join the task row in the update that ends it (toCompleted or keepCalls below).
  const spent = await recordCalls(trx, task, input.calls, { later: true });
  const keepCalls = async () => {
    if (spent.taskSet) await trx.updateTable("tasks").set(spent.taskSet).where("id", "=", task.id).execute();
  };
  // With calls, usage is what every call of the task spent; an older broker reports the last only.
  const usage = input.calls.length
    ? { input_tokens: task.input_tokens + spent.inputTokens, output_tokens: task.output_tokens + spent.outputTokens }
    : input.usage;
  let applied;
  try {
    applied = await withinProjectQuota(trx, task.project_id, deps.config.quotas, () => (task.run_id ? applyRunOutput(trx, task, output) : applyOutput(trx, task, output)), before);
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
  const done = await toCompleted(trx, task, {
    ...spent.taskSet,
    result: JSON.stringify(input.contextCut ? { ...output, contextCut: input.contextCut } : output),
    ...usage,
    provider: input.provider,
    model: input.model,
    result_node_id: applied.resultNodeId,
  });
  return { ...done, applied: true, wrote: true, touched: applied.touched };
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

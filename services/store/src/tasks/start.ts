import type { CallContext } from "@sker/kit";
import type { StartTaskRequest, StartTaskResponse } from "@sker/contracts/store/v1/task";
import { sql, type Transaction } from "kysely";
import { requireService } from "../authz.js";
import type { Database, NodeRow, TaskRow } from "../db/schema.js";
import type { StoreDeps } from "../deps.js";
import { appendEvent, taskActor } from "../events/append.js";
import { payload } from "../events/payload.js";
import { nodeToProto } from "../nodes/map.js";
import { findNode } from "../nodes/repo.js";
import { taskStarted } from "../runs/advance.js";
import { runTaskContext } from "../runs/context.js";
import { fitContext, fitLoaded, type FittedContext } from "./context.js";
import { failTx, forgetTarget, lockTask, NODE_GONE } from "./fail.js";
import { taskToProto } from "./map.js";
import { markTargetNode } from "./node-status.js";
import { runningCounts, takeLease } from "./repo.js";
import { checkStart } from "./validate.js";

type Trx = Transaction<Database>;
type Input = ReturnType<typeof checkStart>;

interface Outcome {
  task: TaskRow;
  started: boolean;
  wrote: boolean;
  exhausted?: boolean;
  deferred?: "project" | "user";
  node?: NodeRow;
  context?: FittedContext;
}

const startable = (t: TaskRow) => t.status === "queued" || (t.status === "running" && t.lease_expires_at !== null && t.lease_expires_at.getTime() < Date.now());

/**
 * Which running-task cap the task is over, if any. Starts of one user (and of one project)
 * count one after the other under transaction-scoped advisory locks: exact caps without
 * making deferrals wait behind the project row, which every write to the project locks.
 */
async function overCap(trx: Trx, task: TaskRow, input: Input): Promise<"project" | "user" | undefined> {
  if (!input.maxRunningPerProject && !input.maxRunningPerUser) return undefined;
  await sql`select pg_advisory_xact_lock(hashtextextended(${`sker.cap.user.${task.created_by}`}, 0))`.execute(trx);
  await sql`select pg_advisory_xact_lock(hashtextextended(${`sker.cap.project.${task.project_id}`}, 0))`.execute(trx);
  const running = await runningCounts(trx, task.project_id, task.created_by, task.id);
  if (input.maxRunningPerUser > 0 && running.user >= input.maxRunningPerUser) return "user";
  if (input.maxRunningPerProject > 0 && running.project >= input.maxRunningPerProject) return "project";
  return undefined;
}

async function startTx(trx: Trx, input: Input): Promise<Outcome> {
  const current = await lockTask(trx, input.id);
  let again = false;
  if (!startable(current)) {
    // The same worker asking again: its first answer was lost (a deadline after the commit).
    // Hand it the task once more, on the lease it has: an answer that can never arrive then
    // ends with the lease, and the reaper's next start counts an attempt.
    if (current.status !== "running" || current.lease_owner !== input.workerId) return { task: current, started: false, wrote: false };
    again = true;
  } else if (input.maxAttempts > 0 && current.attempts >= input.maxAttempts) {
    // Every way an attempt can end without a result counts (a worker's death, a start whose
    // answer never arrived, a failure FailTask recorded): the last one's code tells the user why.
    const why = current.error_message ? `; last: ${current.error_message}` : "";
    const code = current.error_code ?? "ATTEMPTS_EXHAUSTED";
    return { task: await failTx(trx, current, code, `no attempt finished in ${input.maxAttempts} tries${why}`), started: false, wrote: true, exhausted: true };
  } else {
    const deferred = await overCap(trx, current, input);
    if (deferred) return { task: current, started: false, wrote: false, deferred };
  }
  const task = again ? current : await takeLease(trx, input.id, input.workerId, input.leaseMs);
  // The database's clock had the lease still live after all.
  if (!task) return { task: current, started: false, wrote: false };
  const node = task.node_id ? await findNode(trx, task.node_id) : undefined;
  // Nothing to work on any more: fail now rather than spend a provider call on it.
  if (task.node_id && !node) return { task: await failTx(trx, task, NODE_GONE, "the task's node was deleted"), started: false, wrote: true };
  const forRun = task.run_id ? await runTaskContext(trx, task) : undefined;
  const target = forRun ? forRun.node : node;
  const context = forRun ? fitLoaded(task, target, forRun.context, input.contextBudgetChars) : await fitContext(trx, task, node, input.contextBudgetChars);
  if (task.type === "fusion" && context.available < 2) {
    return { task: await failTx(trx, task, NODE_GONE, "fewer than 2 of the fusion's nodes remain"), started: false, wrote: true };
  }
  if (!again) {
    await markTargetNode(trx, task, "processing");
    await appendEvent(trx, task.project_id, "task.started", payload.task(task), taskActor(task));
    await taskStarted(trx, task);
  }
  return { task, started: true, wrote: !again, node: target, context };
}

/**
 * Takes the lease and answers what the attempt needs: the target node and the upstream
 * context cut to the prompt budget, so the answer's size is bounded whatever the graph holds.
 * Refuses finished, cancelled and live-leased tasks; defers over a running cap; fails a task
 * whose attempts are spent.
 */
export async function startTask(deps: StoreDeps, req: StartTaskRequest, ctx: CallContext): Promise<StartTaskResponse> {
  requireService(ctx.caller, "broker");
  const input = checkStart(req);
  const out = await deps.db.transaction().execute((trx) => startTx(trx, input));
  if (out.wrote) deps.afterCommit();
  if (out.wrote) await forgetTarget(deps, out.task);
  return {
    task: taskToProto(out.task),
    started: out.started,
    node: out.node ? nodeToProto(out.node) : undefined,
    context: (out.context?.nodes ?? []).map(nodeToProto),
    contextCut: out.context?.cut,
    exhausted: out.exhausted ?? false,
    deferred: out.deferred ?? "",
  };
}

import { notFound } from "@sker/kit";
import type { StartTaskRequest, StartTaskResponse } from "@sker/contracts/store/v1/task";
import { sql, type Transaction } from "kysely";
import type { Database, NodeRow, TaskRow } from "../db/schema.js";
import type { StoreDeps } from "../deps.js";
import { nodeToProto } from "../nodes/map.js";
import { findNode } from "../nodes/repo.js";
import { runTaskContext } from "../runs/context.js";
import { budgetFor, fitContext, fitLoaded, type FittedContext } from "./context.js";
import { taskToProto } from "./map.js";
import { runningCounts, takeLease } from "./repo.js";
import { forgetTarget, lockTask, NODE_GONE, toFailed, toRunning } from "./transitions.js";
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

const capsOn = (input: Input) => input.maxRunningPerProject > 0 || input.maxRunningPerUser > 0;

/**
 * The task row, locked, and with caps on the cap locks of its user and its project, all in one
 * statement. Starts of one user (and of one project) count one after the other under these
 * transaction-scoped advisory locks: exact caps without making deferrals wait behind the
 * project row, which every write to the project locks. Only StartTask takes them, always
 * before anything else, so they cannot deadlock with the row locks.
 */
async function lockForStart(trx: Trx, input: Input): Promise<TaskRow> {
  if (!capsOn(input)) return lockTask(trx, input.id);
  const row = await trx
    .selectFrom("tasks")
    .selectAll()
    .select([
      sql<null>`pg_advisory_xact_lock(hashtextextended('sker.cap.user.' || created_by::text, 0))`.as("cap_user_lock"),
      sql<null>`pg_advisory_xact_lock(hashtextextended('sker.cap.project.' || project_id::text, 0))`.as("cap_project_lock"),
    ])
    .where("id", "=", input.id)
    .forUpdate()
    .executeTakeFirst();
  if (!row) throw notFound("task");
  const { cap_user_lock: _u, cap_project_lock: _p, ...task } = row;
  return task;
}

/** Which running-task cap the task is over, if any (counted under lockForStart's locks). */
async function overCap(trx: Trx, task: TaskRow, input: Input): Promise<"project" | "user" | undefined> {
  if (!capsOn(input)) return undefined;
  const running = await runningCounts(trx, task.project_id, task.created_by, task.id);
  if (input.maxRunningPerUser > 0 && running.user >= input.maxRunningPerUser) return "user";
  if (input.maxRunningPerProject > 0 && running.project >= input.maxRunningPerProject) return "project";
  return undefined;
}

async function startTx(trx: Trx, input: Input): Promise<Outcome> {
  const current = await lockForStart(trx, input);
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
    return { task: await toFailed(trx, current, code, `no attempt finished in ${input.maxAttempts} tries${why}`), started: false, wrote: true, exhausted: true };
  } else {
    const deferred = await overCap(trx, current, input);
    if (deferred) return { task: current, started: false, wrote: false, deferred };
  }
  const task = again ? current : await takeLease(trx, input.id, input.workerId, input.leaseMs);
  // The database's clock had the lease still live after all.
  if (!task) return { task: current, started: false, wrote: false };
  const node = task.node_id ? await findNode(trx, task.node_id) : undefined;
  // Nothing to work on any more: fail now rather than spend a provider call on it.
  if (task.node_id && !node) return { task: await toFailed(trx, task, NODE_GONE, "the task's node was deleted"), started: false, wrote: true };
  const forRun = task.run_id ? await runTaskContext(trx, task) : undefined;
  const target = forRun ? forRun.node : node;
  const budget = budgetFor(task, input.contextBudgetChars, input.modelWindowChars);
  const context = forRun ? fitLoaded(task, target, forRun.context, budget) : await fitContext(trx, task, node, budget);
  if (task.type === "fusion" && context.available < 2) {
    return { task: await toFailed(trx, task, NODE_GONE, "fewer than 2 of the fusion's nodes remain"), started: false, wrote: true };
  }
  if (!again) await toRunning(trx, task);
  return { task, started: true, wrote: !again, node: target, context };
}

/**
 * Takes the lease and answers what the attempt needs: the target node and the upstream
 * context cut to the prompt budget, so the answer's size is bounded whatever the graph holds.
 * Refuses finished, cancelled and live-leased tasks; defers over a running cap; fails a task
 * whose attempts are spent.
 */
export async function startTask(deps: StoreDeps, req: StartTaskRequest): Promise<StartTaskResponse> {
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

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

/**
 * The locked part of a start: the cap locks are held from the count to the commit, so only what
 * must be exact under them happens here (count, lease, the started event). Everything a start
 * only reads (the node, the upstream context) comes after the commit: holding the locks through
 * those reads made one user's starts run one at a time at the pace of the slowest statement.
 */
async function leaseTx(trx: Trx, input: Input): Promise<Outcome> {
  const current = await lockForStart(trx, input);
  if (!startable(current)) {
    // The same worker asking again: its first answer was lost (a deadline after the commit).
    // Hand it the task once more, on the lease it has: an answer that can never arrive then
    // ends with the lease, and the reaper's next start counts an attempt.
    const again = current.status === "running" && current.lease_owner === input.workerId;
    return { task: current, started: again, wrote: false };
  }
  if (input.maxAttempts > 0 && current.attempts >= input.maxAttempts) {
    // Every way an attempt can end without a result counts (a worker's death, a start whose
    // answer never arrived, a failure FailTask recorded): the last one's code tells the user why.
    const why = current.error_message ? `; last: ${current.error_message}` : "";
    const code = current.error_code ?? "ATTEMPTS_EXHAUSTED";
    return { task: await toFailed(trx, current, code, `no attempt finished in ${input.maxAttempts} tries${why}`), started: false, wrote: true, exhausted: true };
  }
  const deferred = await overCap(trx, current, input);
  if (deferred) return { task: current, started: false, wrote: false, deferred };
  const task = await takeLease(trx, input.id, input.workerId, input.leaseMs);
  // The database's clock had the lease still live after all.
  if (!task) return { task: current, started: false, wrote: false };
  await toRunning(trx, task);
  return { task, started: true, wrote: true };
}

/**
 * A start in one statement, its own transaction: sker_start_task (migrations 0013, 0014) takes
 * the cap locks, counts under them, leases, marks the task's node processing if it rewrites one
 * and writes the events. Undefined for a graph run's task and a task that cannot start now
 * (answered again, attempts spent), which leaseTx handles (the function wrote nothing for them).
 */
async function startAlone(db: StoreDeps["db"], input: Input): Promise<Outcome | undefined> {
  const { rows } = await sql<TaskRow & { outcome: "started" | "user" | "project" | "missing" | "other" }>`
    SELECT s.outcome, (s.task).*
    FROM sker_start_task(${input.id}::uuid, ${input.workerId}::text, ${input.leaseMs}::int, ${input.maxAttempts}::int, ${input.maxRunningPerProject}::int, ${input.maxRunningPerUser}::int) AS s
  `.execute(db);
  const { outcome, ...task } = rows[0];
  if (outcome === "missing") throw notFound("task");
  if (outcome === "other") return undefined;
  if (outcome === "started") return { task, started: true, wrote: true };
  return { task, started: false, wrote: false, deferred: outcome };
}

/** Fails a task this start leased whose inputs went away, if the lease is still this worker's. */
async function failLeased(deps: StoreDeps, task: TaskRow, workerId: string, message: string): Promise<TaskRow> {
  return deps.db.transaction().execute(async (trx) => {
    const now = await lockTask(trx, task.id);
    if (now.status !== "running" || now.lease_owner !== workerId) return now;
    return toFailed(trx, now, NODE_GONE, message);
  });
}

/** What the attempt works on, read after the lease's commit; a reason to fail when it is gone. */
async function attemptInput(db: StoreDeps["db"], task: TaskRow, input: Input): Promise<{ node?: NodeRow; context: FittedContext } | { gone: string }> {
  const node = task.node_id ? await findNode(db, task.node_id) : undefined;
  // Nothing to work on any more: fail now rather than spend a provider call on it.
  if (task.node_id && !node) return { gone: "the task's node was deleted" };
  const forRun = task.run_id ? await runTaskContext(db, task) : undefined;
  const target = forRun ? forRun.node : node;
  const budget = budgetFor(task, input.contextBudgetChars, input.modelWindowChars);
  const context = forRun ? fitLoaded(task, target, forRun.context, budget) : await fitContext(db, task, node, budget);
  if (task.type === "fusion" && context.available < 2) return { gone: "fewer than 2 of the fusion's nodes remain" };
  return { node: target, context };
}

/**
 * Takes the lease and answers what the attempt needs: the target node and the upstream
 * context cut to the prompt budget, so the answer's size is bounded whatever the graph holds.
 * Refuses finished, cancelled and live-leased tasks; defers over a running cap; fails a task
 * whose attempts are spent.
 */
export async function startTask(deps: StoreDeps, req: StartTaskRequest): Promise<StartTaskResponse> {
  const input = checkStart(req);
  let out = (await startAlone(deps.db, input)) ?? (await deps.db.transaction().execute((trx) => leaseTx(trx, input)));
  if (out.wrote) deps.afterCommit();
  if (out.started) {
    const read = await attemptInput(deps.db, out.task, input);
    if ("gone" in read) {
      out = { task: await failLeased(deps, out.task, input.workerId, read.gone), started: false, wrote: true };
      deps.afterCommit();
    } else out = { ...out, ...read };
  }
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

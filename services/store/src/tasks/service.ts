import { AppError, invalid, notFound, toProtoEnum, type CallContext, type Implementation } from "@sker/kit";
import type { TaskStatus as ProtoTaskStatus, TaskServiceService } from "@sker/contracts/store/v1/task";
import { requireRole, requireService, userOf, userVia } from "../authz.js";
import type { Transaction } from "kysely";
import type { Database, Role, TaskRow } from "../db/schema.js";
import type { StoreDeps } from "../deps.js";
import { appendEvent, taskActor } from "../events/append.js";
import { forgetNodes } from "../nodes/cache.js";
import { markTargetNode, rewritesNode } from "./node-status.js";
import { admitOrRefuse } from "../usage/budget.js";
import { recordCalls } from "../usage/ledger.js";
import { liveNodesIn, nowMs } from "../nodes/repo.js";
import { parseId } from "../input/ids.js";
import { withinProjectQuota } from "../quotas/enforce.js";
import { pageOf } from "../input/page.js";
import { applyOutput, cleanOutput, NodeGone } from "./apply.js";
import { enqueueTaskTx } from "./enqueue.js";
import { taskFinished } from "../runs/advance.js";
import { applyRunOutput, EditedSinceRunStarted } from "../runs/output.js";
import { TASK_STATUS, taskToProto, taskToRest } from "./map.js";
import { addDispatches, findByKey, findTask, listTasks, reclaim, renewLease, setTask } from "./repo.js";
import { checkComplete, checkCreate, checkFail, checkLease, checkList, checkReclaim } from "./validate.js";
import { failTx, forgetTarget, lockTask, NODE_GONE } from "./fail.js";
import { startTask } from "./start.js";

const FINISHED = new Set(["completed", "failed", "cancelled"]);

async function taskForRole(deps: StoreDeps, ctx: CallContext, id: string, min: Role): Promise<TaskRow> {
  const row = await findTask(deps.db, id);
  if (!row) throw notFound("task");
  await requireRole(deps, ctx, row.project_id, min, "task");
  return row;
}

type Trx = Transaction<Database>;

/** A retry names a finished-without-result task of the same project (else it is no retry). */
async function checkRetryOf(trx: Trx, id: string, projectId: string): Promise<void> {
  const earlier = await findTask(trx, id);
  if (!earlier || earlier.project_id !== projectId) throw invalid("retryOf", "must be a task of the same project");
  if (earlier.status !== "failed" && earlier.status !== "cancelled")
    throw new AppError("FAILED_PRECONDITION", `only a failed or cancelled task can be retried; this one is ${earlier.status}`, { status: earlier.status, field: "retryOf" });
}

/**
 * An output that would take the project past a quota wrote nothing (its transaction rolled
 * back); the task then fails for good with QUOTA_EXCEEDED, which the user can read.
 */
async function failOverQuota(deps: StoreDeps, err: unknown, id: string, workerId: string) {
  if (!(err instanceof AppError && err.code === "QUOTA_EXCEEDED")) throw err;
  return deps.db.transaction().execute(async (trx) => {
    const task = await lockTask(trx, id);
    const spawned: TaskRow[] = [];
    if (task.status !== "running" || task.lease_owner !== workerId) return { task, applied: false, wrote: false, touched: [] as string[], spawned };
    const failed = await failTx(trx, task, "QUOTA_EXCEEDED", err.message);
    return { task: failed, applied: false, wrote: true, touched: rewritesNode(task) ? [task.node_id!] : [], spawned };
  });
}

/**
 * A repeated idempotency key answers the first task, but only within the project it was made
 * in: the key is per user, and the user may since have lost access to that first project.
 */
function sameKeyAnswer(earlier: Parameters<typeof taskToProto>[0], projectId: string) {
  if (earlier.project_id !== projectId) throw new AppError("CONFLICT", "this Idempotency-Key was used for a task of another project", { field: "idempotencyKey" });
  return { task: taskToProto(earlier), created: false };
}

export function taskService(deps: StoreDeps): Omit<Implementation<typeof TaskServiceService>, "claimDispatches" | "ackDispatches"> {
  return {
    async createTask(req, ctx) {
      const userId = userVia(ctx, "broker");
      const input = checkCreate(req);
      await requireRole(deps, ctx, input.projectId, "editor");
      if (input.idempotencyKey) {
        const earlier = await findByKey(deps.db, userId, input.idempotencyKey);
        if (earlier) return sameKeyAnswer(earlier, input.projectId);
      }
      const row = await deps.db.transaction().execute(async (trx) => {
        // A caller that gave up while this call waited for a connection (or a lock, below) has
        // been told "not created" (503): writing the task now would make that a lie.
        ctx.signal.throwIfAborted();
        const wanted = [...(input.nodeId ? [input.nodeId] : []), ...input.sourceNodeIds];
        const live = new Set((await liveNodesIn(trx, input.projectId, wanted, { share: true })).map((n) => n.id));
        if (input.nodeId && !live.has(input.nodeId)) throw invalid("nodeId", "must be a live node of the project");
        input.sourceNodeIds.forEach((id, i) => {
          if (!live.has(id)) throw invalid(`sourceNodeIds[${i}]`, "must be a live node of the project");
        });
        if (input.retryOf) await checkRetryOf(trx, input.retryOf, input.projectId);
        await admitOrRefuse(trx, deps, input.projectId, userId, input.estimatedCostUsd ?? 0);
        const task = await enqueueTaskTx(trx, input, userId);
        ctx.signal.throwIfAborted();
        return task;
      });
      if (!row) {
        // Lost the race on the idempotency key: the winner has committed, answer its task.
        const earlier = await findByKey(deps.db, userId, input.idempotencyKey!);
        if (!earlier) throw new AppError("UNAVAILABLE", "idempotent task vanished; retry");
        return sameKeyAnswer(earlier, input.projectId);
      }
      deps.afterCommit();
      return { task: taskToProto(row), created: true };
    },

    async getTask(req, ctx) {
      return { task: taskToProto(await taskForRole(deps, ctx, parseId("id", req.id), "viewer")) };
    },

    async listTasks(req, ctx) {
      const filter = checkList(req);
      await requireRole(deps, ctx, filter.projectId, "viewer");
      const { items, nextCursor } = pageOf(await listTasks(deps.db, filter), filter.page.limit);
      return { tasks: items.map(taskToProto), nextCursor };
    },

    async cancelTask(req, ctx) {
      const id = parseId("id", req.id);
      await taskForRole(deps, ctx, id, "editor");
      const row = await deps.db.transaction().execute(async (trx) => {
        const task = await lockTask(trx, id);
        if (FINISHED.has(task.status)) throw new AppError("FAILED_PRECONDITION", `task is already ${task.status}`, { status: task.status });
        await markTargetNode(trx, task, "idle", "processing");
        const after = await setTask(trx, id, { status: "cancelled", lease_owner: null, lease_expires_at: null, completed_at: nowMs });
        await appendEvent(trx, after.project_id, "task.cancelled", taskToRest(after), { userId: userOf(ctx.caller) });
        await taskFinished(trx, after, "cancelled");
        return after;
      });
      deps.afterCommit();
      await forgetTarget(deps, row);
      return { task: taskToProto(row) };
    },

    startTask: (req, ctx) => startTask(deps, req, ctx),

    async renewLease(req, ctx) {
      requireService(ctx.caller, "broker");
      const { id, workerId, leaseMs } = checkLease(req);
      const renewed = await renewLease(deps.db, id, workerId, leaseMs);
      const task = renewed ?? (await findTask(deps.db, id));
      if (!task) throw notFound("task");
      return { ok: renewed !== undefined, status: toProtoEnum<ProtoTaskStatus>(task.status, TASK_STATUS) };
    },

    async completeTask(req, ctx) {
      requireService(ctx.caller, "broker");
      const input = checkComplete(req);
      const output = cleanOutput(input.output);
      const out = await deps.db.transaction().execute(async (trx) => {
        const task = await lockTask(trx, input.id);
        // Exactly once: a redelivery finds it completed. A worker that lost its lease (the task
        // was reclaimed, restarted elsewhere or cancelled) writes nothing either; both answer
        // applied=false with the task as it is, and the worker drops its message.
        const none: TaskRow[] = [];
        if (task.status !== "running" || task.lease_owner !== input.workerId) return { task, applied: false, wrote: false, touched: [] as string[], spawned: none };
        const spent = await recordCalls(trx, task, input.calls);
        // With calls, usage is what every call of the task spent; an older broker reports the last only.
        const usage = input.calls.length
          ? { input_tokens: task.input_tokens + spent.inputTokens, output_tokens: task.output_tokens + spent.outputTokens }
          : input.usage;
        let applied;
        try {
          applied = await withinProjectQuota(trx, task.project_id, deps.config.quotas, () => (task.run_id ? applyRunOutput(trx, task, output) : applyOutput(trx, task, output)));
        } catch (err) {
          if (err instanceof EditedSinceRunStarted) {
            return { task: await failTx(trx, task, "VERSION_CONFLICT", err.message), applied: false, wrote: true, touched: [], spawned: none };
          }
          if (!(err instanceof NodeGone)) throw err;
        }
        if (!applied) return { task: await failTx(trx, task, NODE_GONE, "the task's node was deleted while it ran"), applied: false, wrote: true, touched: [], spawned: none };
        const row = await setTask(trx, task.id, {
          status: "completed",
          result: JSON.stringify(input.contextCut ? { ...output, contextCut: input.contextCut } : output),
          ...usage,
          provider: input.provider,
          model: input.model,
          result_node_id: applied.resultNodeId,
          completed_at: nowMs,
          lease_owner: null,
          lease_expires_at: null,
          error_code: null,
          error_message: null,
        });
        await appendEvent(trx, row.project_id, "task.completed", taskToRest(row), taskActor(row));
        const spawned = await taskFinished(trx, row, "completed");
        return { task: row, applied: true, wrote: true, touched: applied.touched, spawned };
      }).catch((err) => failOverQuota(deps, err, input.id, input.workerId));
      if (out.wrote) deps.afterCommit();
      await forgetNodes(deps, out.touched);
      return { task: taskToProto(out.task), applied: out.applied, spawned: out.spawned.map(taskToProto) };
    },

    async failTask(req, ctx) {
      requireService(ctx.caller, "broker");
      const input = checkFail(req);
      const out = await deps.db.transaction().execute(async (trx) => {
        const task = await lockTask(trx, input.id);
        // Tokens spent are billed whatever became of the task: a call cut short by a cancel or
        // a lost lease was paid for all the same.
        const spent = await recordCalls(trx, task, input.calls);
        if (spent.inputTokens || spent.outputTokens)
          await setTask(trx, task.id, { input_tokens: task.input_tokens + spent.inputTokens, output_tokens: task.output_tokens + spent.outputTokens });
        // A finished task stays as it is; so does one leased by another worker.
        const stale = FINISHED.has(task.status) || (task.status === "running" && task.lease_owner !== input.workerId);
        if (stale) return { task: spent.inputTokens || spent.outputTokens ? ((await findTask(trx, task.id)) ?? task) : task, wrote: input.calls.length > 0 };
        if (input.final) return { task: await failTx(trx, task, input.code, input.message), wrote: true };
        const row = await setTask(trx, task.id, {
          status: "queued",
          error_code: input.code,
          error_message: input.message,
          lease_owner: null,
          lease_expires_at: null,
          enqueued_at: nowMs,
        });
        if (task.status === "running") await appendEvent(trx, row.project_id, "task.queued", taskToRest(row), taskActor(row));
        return { task: row, wrote: true };
      });
      if (out.wrote) deps.afterCommit();
      if (out.wrote) await forgetTarget(deps, out.task);
      return { task: taskToProto(out.task) };
    },

    async reclaimTasks(req, ctx) {
      requireService(ctx.caller, "broker");
      const { queuedAfterMs, limit } = checkReclaim(req);
      const rows = await deps.db.transaction().execute(async (trx) => {
        const taken = await reclaim(trx, queuedAfterMs, limit);
        // A task back from a dead worker changes status for the people watching it.
        for (const { before, after } of taken) {
          if (before.status === "running") await appendEvent(trx, after.project_id, "task.queued", taskToRest(after), taskActor(after));
        }
        await addDispatches(trx, taken.map((t) => t.after.id), { reclaimed: true });
        return taken.map((t) => t.after);
      });
      if (rows.length) deps.afterCommit();
      return { tasks: rows.map(taskToProto) };
    },

    async requeueTask(req, ctx) {
      requireService(ctx.caller, "broker");
      const id = parseId("id", req.id);
      const row = await deps.db.transaction().execute(async (trx) => {
        const task = await lockTask(trx, id);
        if (task.status !== "failed") throw new AppError("FAILED_PRECONDITION", `only a failed task can be requeued; this one is ${task.status}`, { status: task.status });
        const after = await setTask(trx, id, {
          status: "queued",
          attempts: 0,
          error_code: null,
          error_message: null,
          lease_owner: null,
          lease_expires_at: null,
          completed_at: null,
          enqueued_at: nowMs,
        });
        await appendEvent(trx, after.project_id, "task.queued", taskToRest(after), taskActor(after));
        return after;
      });
      deps.afterCommit();
      return { task: taskToProto(row) };
    },
  };
}

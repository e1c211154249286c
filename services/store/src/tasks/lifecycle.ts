import { AppError, invalid, notFound, toProtoEnum, type Implementation } from "@sker/kit";
import type { TaskLifecycleServiceService, TaskPriority, TaskStatus as ProtoTaskStatus } from "@sker/contracts/store/v1/task";
import type { StoreDeps } from "../deps.js";
import { parseId } from "../input/ids.js";
import { recordCalls } from "../usage/ledger.js";
import { completeTask } from "./complete.js";
import { TASK_PRIORITY, TASK_STATUS, taskToProto } from "./map.js";
import { addDispatches, claimDispatches, deleteDispatches, findTask, reclaim, renewLease, setTask } from "./repo.js";
import { startTask } from "./start.js";
import { FINISHED, forgetTarget, lockTask, queuedEvent, toFailed, toQueued } from "./transitions.js";
import { checkFail, checkLease, checkReclaim } from "./validate.js";

const MAX_CLAIM = 1_000;

/**
 * The broker's side of a task (service token only: services.ts guards every RPC here): its
 * workers start, renew, complete and fail tasks, its reaper reclaims them, its relay publishes
 * the task queue's outbox, and a dead-letter replay requeues one.
 */
export function taskLifecycleService(deps: StoreDeps): Implementation<typeof TaskLifecycleServiceService> {
  return {
    async startTask(req) {
      return startTask(deps, req);
    },

    async renewLease(req) {
      const { id, workerId, leaseMs } = checkLease(req);
      const renewed = await renewLease(deps.db, id, workerId, leaseMs);
      const task = renewed ?? (await findTask(deps.db, id));
      if (!task) throw notFound("task");
      return { ok: renewed !== undefined, status: toProtoEnum<ProtoTaskStatus>(task.status, TASK_STATUS) };
    },

    async completeTask(req) {
      return completeTask(deps, req);
    },

    async failTask(req) {
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
        if (input.final) return { task: await toFailed(trx, task, input.code, input.message), wrote: true };
        return { task: await toQueued(trx, task, { error_code: input.code, error_message: input.message }), wrote: true };
      });
      if (out.wrote) deps.afterCommit();
      if (out.wrote) await forgetTarget(deps, out.task);
      return { task: taskToProto(out.task) };
    },

    async reclaimTasks(req) {
      const { queuedAfterMs, limit } = checkReclaim(req);
      const rows = await deps.db.transaction().execute(async (trx) => {
        const taken = await reclaim(trx, queuedAfterMs, limit);
        // A task back from a dead worker changes status for the people watching it.
        for (const { before, after } of taken) await queuedEvent(trx, before, after);
        await addDispatches(trx, taken.map((t) => t.after.id), { reclaimed: true });
        return taken.map((t) => t.after);
      });
      if (rows.length) deps.afterCommit();
      return { tasks: rows.map(taskToProto) };
    },

    async requeueTask(req) {
      const id = parseId("id", req.id);
      const row = await deps.db.transaction().execute(async (trx) => {
        const task = await lockTask(trx, id);
        if (task.status !== "failed") throw new AppError("FAILED_PRECONDITION", `only a failed task can be requeued; this one is ${task.status}`, { status: task.status });
        return toQueued(trx, task, { attempts: 0, error_code: null, error_message: null, completed_at: null });
      });
      deps.afterCommit();
      return { task: taskToProto(row) };
    },

    // The task queue's outbox, read by the brokers' relays.
    async claimDispatches(req) {
      if (!Number.isInteger(req.limit) || req.limit < 1 || req.limit > MAX_CLAIM) throw invalid("limit", `must be between 1 and ${MAX_CLAIM}`);
      if (!Number.isInteger(req.leaseMs) || req.leaseMs < 100 || req.leaseMs > 600_000) throw invalid("leaseMs", "must be between 100 and 600000");
      const rows = await claimDispatches(deps.db, req.limit, req.leaseMs);
      return {
        dispatches: rows.map((r) => ({
          id: Number(r.id),
          taskId: r.task_id,
          projectId: r.project_id,
          priority: toProtoEnum<TaskPriority>(r.priority, TASK_PRIORITY),
          reclaimed: r.reclaimed,
          traceparent: r.trace?.traceparent ?? "",
          tracestate: r.trace?.tracestate ?? "",
        })),
      };
    },

    async ackDispatches(req) {
      if (req.ids.length > MAX_CLAIM) throw invalid("ids", `at most ${MAX_CLAIM}`);
      if (!req.ids.every((id) => Number.isSafeInteger(id) && id > 0)) throw invalid("ids", "must be positive integers");
      await deleteDispatches(deps.db, req.ids);
      return {};
    },
  };
}

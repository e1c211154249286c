import { AppError, isUuid, traceCarrier, type Implementation, type Logger } from "@sker/kit";
import { BrokerServiceService } from "@sker/contracts/broker/v1/broker";
import { TaskStatus } from "@sker/contracts/store/v1/task";
import { priorityOfTask, type TaskQueue } from "./queue/index.js";
import type { BrokerAccess } from "./access.js";
import { runHandlers } from "./runs.js";
import type { StoreTasks } from "./store-client.js";
import { validateSubmit } from "./validate.js";

export interface ServiceDeps {
  store: StoreTasks;
  queue: TaskQueue;
  access: BrokerAccess;
  log: Logger;
}

/** How long SubmitTask waits for the publisher confirm before answering anyway. */
const PUBLISH_WAIT_MS = 2_000;

/** BrokerService: the user's token is forwarded to the store, which checks tenancy. */
export function brokerService(deps: ServiceDeps): Implementation<typeof BrokerServiceService> {
  const { store, queue } = deps;
  return {
    ...runHandlers(store, queue),

    async submitTask(req, ctx) {
      validateSubmit(req);
      const { task, created } = await store.tasks.createTask(req, { token: ctx.token, requestId: ctx.requestId });
      if (!task) throw new AppError("INTERNAL", "the store answered no task");
      if (created) {
        // The task is persisted as queued, so a publish that cannot be confirmed soon (RabbitMQ
        // away) need not hold the caller: it goes out on reconnect, or the reaper publishes it.
        const confirmed = await queue
          .publish({ taskId: task.id, projectId: task.projectId, trace: traceCarrier() }, priorityOfTask(task.priority), { waitMs: PUBLISH_WAIT_MS })
          .catch(() => false);
        if (!confirmed) ctx.log.warn({ taskId: task.id }, "publish not confirmed yet; answering anyway (the task is persisted)");
      }
      return { task, created };
    },

    async cancelTask(req, ctx) {
      const { task } = await store.tasks.cancelTask({ id: req.id }, { token: ctx.token, requestId: ctx.requestId });
      if (task?.status === TaskStatus.TASK_STATUS_CANCELLED) {
        // The running attempt (on whichever broker) aborts on this; its lease renewal would notice too.
        await queue.broadcastCancel(task.id).catch((err: unknown) => ctx.log.warn({ err, taskId: task.id }, "cancel broadcast failed"));
      }
      return { task };
    },

    async getTask(req, ctx) {
      return store.tasks.getTask({ id: req.id }, { token: ctx.token, requestId: ctx.requestId });
    },

    async getQueueStats(_req, ctx) {
      await deps.access.requireAdmin(ctx.caller, ctx.token, ctx.requestId);
      return queue.stats();
    },

    async replayDeadLetter(req, ctx) {
      await deps.access.requireAdmin(ctx.caller, ctx.token, ctx.requestId);
      if (!isUuid(req.taskId)) throw new AppError("VALIDATION_ERROR", "taskId: must be a UUID", { field: "taskId" });
      // The store is the truth, the letter only a record: requeue the failed task first, remove
      // its letter last. A crash in between leaves a queued task (the reaper publishes it) and
      // a stale letter, never a failed task whose letter is gone.
      const requeued = await store.tasks.requeueTask({ id: req.taskId }, { token: await store.serviceToken(), requestId: ctx.requestId }).catch(async (err: unknown) => {
        // Not failed (any more): a letter left by a crash mid-replay is stale; drop it.
        if (err instanceof AppError && err.code === "FAILED_PRECONDITION") await queue.takeDeadLetter(req.taskId).catch(() => undefined);
        throw err;
      });
      const { task } = requeued;
      if (!task) throw new AppError("INTERNAL", "the store answered no task");
      await queue.publish({ taskId: task.id, projectId: task.projectId }, priorityOfTask(task.priority));
      await queue.takeDeadLetter(task.id).catch((err: unknown) => ctx.log.warn({ err, taskId: task.id }, "replayed; its dead letter stays until the next replay"));
      return { task };
    },
  };
}

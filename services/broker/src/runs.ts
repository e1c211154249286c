import { AppError, traceCarrier, type Implementation, type Logger } from "@sker/kit";
import type { BrokerServiceService } from "@sker/contracts/broker/v1/broker";
import type { Task } from "@sker/contracts/store/v1/task";
import { priorityOfTask, type TaskQueue } from "./queue/index.js";
import type { StoreTasks } from "./store-client.js";

// Graph runs through the broker: the store plans a run and decides which tasks are ready (and
// later, in CompleteTask, which became ready); the broker only publishes what it is handed.
// A publish lost to a crash is a queued task with no message: the reaper hands it out again.

/** How long StartRun waits for the publisher confirms before answering anyway (the tasks are persisted). */
const PUBLISH_WAIT_MS = 2_000;

export async function publishTasks(queue: TaskQueue, tasks: Task[], log: Logger, waitMs?: number): Promise<void> {
  const confirmed = await Promise.all(
    tasks.map((t) =>
      queue.publish({ taskId: t.id, projectId: t.projectId, trace: traceCarrier() }, priorityOfTask(t.priority), waitMs ? { waitMs } : undefined).catch(() => false),
    ),
  );
  const lost = tasks.filter((_, i) => !confirmed[i]).map((t) => t.id);
  if (lost.length) log.warn({ taskIds: lost }, "publish not confirmed yet; the tasks are persisted (reconnect or the reaper sends them)");
}

type Handlers = Pick<Implementation<typeof BrokerServiceService>, "startRun" | "cancelRun">;

export function runHandlers(store: StoreTasks, queue: TaskQueue): Handlers {
  return {
    async startRun(req, ctx) {
      const { run, tasks } = await store.runs.createRun(req, { token: ctx.token, requestId: ctx.requestId });
      if (!run) throw new AppError("INTERNAL", "the store answered no run");
      await publishTasks(queue, tasks, ctx.log, PUBLISH_WAIT_MS);
      return { run };
    },

    async cancelRun(req, ctx) {
      const { run, cancelledTaskIds } = await store.runs.cancelRun({ id: req.id }, { token: ctx.token, requestId: ctx.requestId });
      // Running attempts (on whichever broker) abort on this; their lease renewal would notice too.
      await Promise.all(cancelledTaskIds.map((id) => queue.broadcastCancel(id).catch((err: unknown) => ctx.log.warn({ err, taskId: id }, "cancel broadcast failed"))));
      return { run };
    },
  };
}

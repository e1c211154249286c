import { fromProtoEnum, type Logger } from "@sker/kit";
import type { StartTaskResponse, Task } from "@sker/contracts/store/v1/task";
import type { TaskKind } from "../providers/index.js";
import type { Delivery } from "../queue/index.js";
import type { Attempts } from "./attempts.js";
import { keepLease } from "./lease.js";
import { progressBatcher } from "./progress.js";
import type { ModelCall } from "./route.js";
import type { WorkerDeps } from "./run-task.js";

/** One running attempt of a task: what its run and record steps share. */
export interface Attempt {
  task: Task;
  started: StartTaskResponse & { task: Task };
  type: TaskKind;
  abort: AbortController;
  progress: ReturnType<typeof progressBatcher>;
  log: Logger;
  /** Every provider call of this attempt: billed with its outcome, whichever way it ends. */
  calls: ModelCall[];
  /** Seconds since the attempt began. */
  elapsed(): number;
  /** Stops the lease renewal and lets the task's cancel and shutdown hooks go. */
  end(): void;
}

/** The store granted the lease: keep it renewed, stream progress, count the attempt in flight. */
export function beginAttempt(deps: WorkerDeps, delivery: Delivery, started: StartTaskResponse & { task: Task }, attempts: Attempts, log: Logger): Attempt {
  const { config, store, bus, metrics } = deps;
  const { taskId, projectId } = delivery.message;
  const task = started.task;
  const abort = attempts.begin(taskId);
  const stopLease = keepLease(store, taskId, config.workerId, config.leaseMs, abort, log);
  const progress = progressBatcher(bus, projectId || task.projectId, taskId, { streams: () => attempts.size });
  const began = process.hrtime.bigint();
  metrics.inflight.inc();
  return {
    task,
    started,
    type: fromProtoEnum<TaskKind>(task.type, "TASK_TYPE_") ?? "generate",
    abort,
    progress,
    log,
    calls: [],
    elapsed: () => Number(process.hrtime.bigint() - began) / 1e9,
    end() {
      stopLease();
      attempts.end(taskId);
      metrics.inflight.dec();
    },
  };
}

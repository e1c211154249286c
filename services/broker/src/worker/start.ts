import type { Logger } from "@sker/kit";
import { AppError } from "@sker/kit";
import { TOKENS } from "@sker/contracts/limits";
import type { StartTaskResponse, Task } from "@sker/contracts/store/v1/task";
import { priorityOfTask, type Delivery, type Settle } from "../queue/index.js";
import type { WorkerDeps } from "./run-task.js";
import type { CapMarks } from "./caps.js";
import { backoffMs, classify } from "./retry.js";
import { withStoreRetry } from "./store-retry.js";

export type StartOutcome = { run: StartTaskResponse & { task: Task } } | { settle: Settle };

/** A delay around `ms` (±50%), so deferred tasks do not come back in one wave. */
const jitter = (ms: number) => ms * (0.5 + Math.random());

/**
 * Asks the store for the lease, within this broker's bounds: attempts, the prompt budget, the
 * running caps. Every answer but "run it" settles the delivery here, and every way a start
 * can fail counts toward AI_TASK_MAX_ATTEMPTS, so no message can loop forever.
 */
export async function startAttempt(deps: WorkerDeps, delivery: Delivery, marks: CapMarks, log: Logger): Promise<StartOutcome> {
  const { config, store, queue, metrics } = deps;
  const { taskId, projectId } = delivery.message;
  const defer = async () => {
    // Over a running cap: back of the line, behind other tenants' queued tasks; no attempt spent.
    await queue.publishDelayed(delivery.message, delivery.priority, jitter(config.deferMs));
    metrics.tasks.inc({ type: "unknown", status: "deferred" });
    return { settle: "ack" as const };
  };
  if (marks.blocked(taskId, projectId)) return defer();
  const request = {
    id: taskId,
    workerId: config.workerId,
    leaseMs: config.leaseMs,
    maxAttempts: config.maxAttempts,
    // AI_CONTEXT_TOKENS caps every task; the store lowers it to what the task's model takes in.
    contextBudgetChars: Math.min(config.contextTokens * TOKENS.charsPerToken, 2 ** 31 - 1),
    modelWindowChars: deps.catalog.windowCharsByAlias(),
    maxRunningPerProject: config.maxRunningPerProject,
    maxRunningPerUser: config.maxRunningPerUser,
  };
  let started: StartTaskResponse;
  try {
    started = await withStoreRetry(async () => store.lifecycle.startTask(request, { token: await store.serviceToken() }));
    marks.release(taskId, projectId, started.started);
  } catch (err) {
    marks.release(taskId, projectId, false);
    if (err instanceof AppError && (err.code === "NOT_FOUND" || err.code === "VALIDATION_ERROR")) {
      log.warn({ err: err.message }, "dropping a message for a task the store does not have");
      return { settle: "ack" };
    }
    return { settle: await startFailed(deps, delivery, err, log) };
  }
  const task = started.task;
  if (started.deferred && task) {
    marks.note(task, started.deferred);
    return defer();
  }
  if (started.exhausted && task) {
    const error = task.error ?? { code: "ATTEMPTS_EXHAUSTED", message: "attempts exhausted" };
    metrics.tasks.inc({ type: "unknown", status: "failed" });
    metrics.deadLetters.inc({ type: "unknown", code: error.code });
    log.warn({ code: error.code, attempts: task.attempts }, "task out of attempts; dead-lettering");
    await queue.deadLetter({ ...delivery.message, error, attempts: task.attempts, failedAt: new Date().toISOString() }, priorityOfTask(task.priority));
    return { settle: "ack" };
  }
  if (!started.started || !task) {
    metrics.tasks.inc({ type: "unknown", status: "skipped" });
    log.debug("task not startable (finished, cancelled or leased elsewhere); dropping the message");
    return { settle: "ack" };
  }
  return { run: { ...started, task } };
}

/**
 * StartTask failed after the store may have taken the lease (and counted the attempt). Give
 * the task back with the reason, so the next start counts another attempt and the last
 * reason becomes the task's error; then offer it again after a backoff.
 */
async function startFailed(deps: WorkerDeps, delivery: Delivery, err: unknown, log: Logger): Promise<Settle> {
  const { config, store, queue, metrics } = deps;
  const failure = classify(err, config.taskTimeoutMs);
  const error =
    err instanceof AppError && err.code === "MESSAGE_TOO_LARGE"
      ? { code: "CONTEXT_TOO_LARGE", message: "the task's context does not fit in one message; lower AI_CONTEXT_TOKENS" }
      : { code: `START_${failure.code}`.slice(0, 64), message: failure.message.slice(0, 2000) };
  try {
    const { task } = await withStoreRetry(async () =>
      store.lifecycle.failTask({ id: delivery.message.taskId, workerId: config.workerId, error, final: false, calls: [] }, { token: await store.serviceToken() }),
    );
    const delay = backoffMs(Math.max(1, task?.attempts ?? 1), config.retryBaseMs, config.retryMaxMs);
    await queue.publishDelayed(delivery.message, delivery.priority, delay);
    metrics.retries.inc({ type: "unknown", code: error.code });
    log.warn({ code: error.code, attempt: task?.attempts, delayMs: Math.round(delay) }, "StartTask failed; retrying after a delay");
    return "ack";
  } catch (failErr) {
    // The store is away: keep the message. The lease (if taken) runs out, and the next start
    // after it counts an attempt.
    log.warn({ err, failErr }, "StartTask failed and could not be recorded; handing the message back");
    await new Promise((r) => setTimeout(r, 1_000));
    return "requeue";
  }
}

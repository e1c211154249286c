import { setTimeout as sleep } from "node:timers/promises";
import { AppError, fromProtoEnum, type EventBus, type Logger } from "@sker/kit";
import type { StartTaskResponse, Task, TaskError } from "@sker/contracts/store/v1/task";
import type { BrokerConfig } from "../config.js";
import type { BrokerMetrics } from "../metrics.js";
import type { Catalog } from "../models/catalog.js";
import type { LiveProvider } from "../models/providers.js";
import { ProviderError, type ProviderRequest, type TaskKind } from "../providers/index.js";
import { priorityOfTask, type Delivery, type Settle, type TaskQueue } from "../queue/index.js";
import { publishTasks } from "../runs.js";
import type { StoreTasks } from "../store-client.js";
import type { Attempts } from "./attempts.js";
import { fitContext, toItem } from "./context.js";
import { keepLease } from "./lease.js";
import { progressBatcher } from "./progress.js";
import { backoffMs, classify, Stop } from "./retry.js";
import { route, type ModelCall } from "./route.js";

export interface WorkerDeps {
  config: BrokerConfig;
  store: StoreTasks;
  queue: TaskQueue;
  bus: EventBus;
  catalog: Catalog;
  providers: Map<string, LiveProvider>;
  metrics: BrokerMetrics;
  log: Logger;
}

/** Transient store trouble: try a few times before giving the message back. */
async function withStoreRetry<T>(fn: () => Promise<T>, tries = 4): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      const transient = err instanceof AppError && (err.code === "UNAVAILABLE" || err.code === "DEADLINE_EXCEEDED");
      if (!transient || i >= tries) throw err;
      await sleep(100 * 2 ** i);
    }
  }
}

/** The task's model alias; one the models file no longer has runs on the default model. */
const aliasOf = (task: Task, catalog: Catalog): string => (task.options?.model && catalog.has(task.options.model) ? task.options.model : catalog.defaultModel);

/** Upstream context gets what the model's window leaves after the answer, at most AI_CONTEXT_TOKENS. */
function contextBudget(task: Task, catalog: Catalog, contextTokens: number): number {
  const room = catalog.contextWindowOf(aliasOf(task, catalog)) - (task.options?.maxTokens ?? 1024);
  return Math.max(100, Math.min(contextTokens, room));
}

function requestOf(task: Task, started: StartTaskResponse, budgetTokens: number): ProviderRequest {
  const type = fromProtoEnum<TaskKind>(task.type, "TASK_TYPE_") ?? "generate";
  const target = started.node ? toItem(started.node) : undefined;
  const reserved = task.prompt.length + (target ? target.title.length + target.content.length : 0);
  return {
    type,
    prompt: task.prompt,
    target,
    context: fitContext(started.context, budgetTokens, reserved),
    temperature: task.options?.temperature,
    maxTokens: task.options?.maxTokens,
  };
}

/**
 * One delivery of a task message, start to settle. The store decides whether this attempt
 * may run (StartTask takes the lease, refuses finished, cancelled or live-leased tasks), so
 * a redelivered or duplicated message never runs the provider twice or writes a result twice.
 */
export async function runTask(deps: WorkerDeps, delivery: Delivery, attempts: Attempts): Promise<Settle> {
  const { taskId } = delivery.message;
  if (!attempts.hold(taskId)) return "ack";
  try {
    return await runHeld(deps, delivery, attempts);
  } finally {
    attempts.release(taskId);
  }
}

async function runHeld(deps: WorkerDeps, delivery: Delivery, attempts: Attempts): Promise<Settle> {
  const { config, store, queue, bus, catalog, metrics } = deps;
  const { taskId, projectId } = delivery.message;
  const log = deps.log.child({ taskId });
  const workerId = config.workerId;
  const token = () => store.serviceToken();
  let started: StartTaskResponse;
  try {
    started = await withStoreRetry(async () => store.tasks.startTask({ id: taskId, workerId, leaseMs: config.leaseMs }, { token: await token() }));
  } catch (err) {
    if (err instanceof AppError && (err.code === "NOT_FOUND" || err.code === "VALIDATION_ERROR")) {
      log.warn({ err: err.message }, "dropping a message for a task the store does not have");
      return "ack";
    }
    log.warn({ err }, "StartTask failed; handing the message back");
    await sleep(1_000);
    return "requeue";
  }
  const task = started.task;
  if (!started.started || !task) {
    metrics.tasks.inc({ type: "unknown", status: "skipped" });
    log.debug("task not startable (finished, cancelled or leased elsewhere); dropping the message");
    return "ack";
  }

  const type = fromProtoEnum<TaskKind>(task.type, "TASK_TYPE_") ?? "generate";
  if (task.attempts > config.maxAttempts) {
    // Earlier attempts died with their worker (a crash, kill -9) and were reclaimed: a task
    // that kills its workers must not do so forever.
    return settleFailure(deps, task, type, new ProviderError("ATTEMPTS_EXHAUSTED", `no attempt finished in ${config.maxAttempts} tries`, false), log, 0);
  }
  const abort = attempts.begin(taskId);
  const stopLease = keepLease(store, taskId, workerId, config.leaseMs, abort, log);
  const progress = progressBatcher(bus, projectId || task.projectId, taskId);
  const began = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - began) / 1e9;
  metrics.inflight.inc();
  let calls: ModelCall[] = [];
  try {
    let first = true;
    let current = "";
    const routed = await route(
      { catalog, providers: deps.providers, metrics, onModel: (alias) => (current = catalog.provider(alias).name) },
      aliasOf(task, catalog),
      requestOf(task, started, contextBudget(task, catalog, config.contextTokens)),
      (delta) => {
        if (first) metrics.providerLatency.observe({ provider: current, phase: "first_token" }, elapsed());
        first = false;
        progress.push(delta);
      },
      abort.signal,
    );
    calls = routed.calls;
    if (!routed.ok) throw routed.error;
    const result = routed.result;
    metrics.providerLatency.observe({ provider: current, phase: "total" }, elapsed());
    await progress.close();
    // A refusal (the store will not take this output) fails the attempt like a provider error:
    // permanent ones fail the task at once. Acking it instead left the task running, to be
    // reclaimed and run again forever.
    const { applied, spawned } = await withStoreRetry(async () =>
      store.tasks.completeTask(
        { id: taskId, workerId, output: result.output, usage: { ...result.usage, costUsd: calls.reduce((sum, c) => sum + c.costUsd, 0) }, provider: catalog.provider(routed.alias).name, model: result.model, calls },
        { token: await token() },
      ),
    );
    // The next nodes of a graph run that this completion made ready. Published before the ack:
    // a crash in between leaves them queued without a message, which the reaper hands out.
    if (spawned.length) await publishTasks(queue, spawned, log);
    if (!applied) {
      // Already completed by an earlier delivery, cancelled, or lost to a reclaim: nothing written.
      metrics.tasks.inc({ type, status: "not_applied" });
      return "ack";
    }
    metrics.tasks.inc({ type, status: "completed" });
    metrics.taskDuration.observe({ type, status: "completed" }, elapsed());
    metrics.tokens.inc({ provider: result.provider, direction: "input" }, result.usage.inputTokens);
    metrics.tokens.inc({ provider: result.provider, direction: "output" }, result.usage.outputTokens);
    return "ack";
  } catch (err) {
    await progress.close();
    return await settleFailure(deps, task, type, err, log, elapsed(), calls);
  } finally {
    stopLease();
    attempts.end(taskId);
    metrics.inflight.dec();
  }
}

async function settleFailure(deps: WorkerDeps, task: Task, type: TaskKind, err: unknown, log: Logger, seconds: number, calls: ModelCall[] = []): Promise<Settle> {
  const { config, store, queue, metrics } = deps;
  const workerId = config.workerId;
  const fail = async (error: TaskError, final: boolean) =>
    withStoreRetry(async () => store.tasks.failTask({ id: task.id, workerId, error, final, calls }, { token: await store.serviceToken() }));

  if (err instanceof Stop && (err.why === "cancelled" || err.why === "lease-lost")) {
    // Cancelled: the store already says so. Lease lost: another attempt owns the task now.
    metrics.tasks.inc({ type, status: err.why === "cancelled" ? "cancelled" : "lease_lost" });
    log.info({ why: err.why }, "attempt stopped");
    return "ack";
  }
  const message = { taskId: task.id, projectId: task.projectId };
  const prio = priorityOfTask(task.priority);
  try {
    if (err instanceof Stop && err.why === "shutdown") {
      // Give the task back at once rather than leave it leased until the lease runs out.
      await fail({ code: "BROKER_SHUTDOWN", message: "the broker shut down during the attempt" }, false);
      metrics.tasks.inc({ type, status: "requeued" });
      return "requeue";
    }
    const failure = classify(err, config.taskTimeoutMs);
    // The provider of the attempt's last call (what failed last); none when no call went out.
    metrics.providerFailures.inc({ provider: calls.at(-1)?.provider ?? "none" });
    const error = { code: failure.code, message: failure.message.slice(0, 2000) };
    if (failure.transient && task.attempts < config.maxAttempts) {
      await fail(error, false);
      const delay = backoffMs(task.attempts, config.retryBaseMs, config.retryMaxMs, failure.retryAfterMs);
      await queue.publishDelayed(message, prio, delay);
      metrics.retries.inc({ type, code: failure.code });
      metrics.tasks.inc({ type, status: "retried" });
      metrics.taskDuration.observe({ type, status: "retried" }, seconds);
      log.warn({ code: failure.code, attempt: task.attempts, delayMs: Math.round(delay) }, "attempt failed; retrying after a delay");
      return "ack";
    }
    await fail(error, true);
    metrics.tasks.inc({ type, status: "failed" });
    metrics.taskDuration.observe({ type, status: "failed" }, seconds);
    metrics.deadLetters.inc({ type, code: failure.code });
    log.warn({ code: failure.code, attempt: task.attempts, transient: failure.transient }, "task failed for good; dead-lettering");
    await queue.deadLetter({ ...message, error, attempts: task.attempts, failedAt: new Date().toISOString() }, prio);
    return "ack";
  } catch (storeErr) {
    // Could not record the failure: hand the message back; the lease expiry and the reaper
    // bring the task round again if this process cannot.
    log.error({ err: storeErr }, "could not record a failed attempt");
    await sleep(1_000);
    return "requeue";
  }
}

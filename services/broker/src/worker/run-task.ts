import { setTimeout as sleep } from "node:timers/promises";
import { fromProtoEnum, type EventBus, type Logger } from "@sker/kit";
import type { StartTaskResponse, Task, TaskError } from "@sker/contracts/store/v1/task";
import type { BrokerConfig } from "../config.js";
import type { BrokerMetrics } from "../metrics.js";
import type { Catalog } from "../models/catalog.js";
import type { LiveProvider } from "../models/providers.js";
import type { ProviderRequest, TaskKind } from "../providers/index.js";
import { priorityOfTask, type Delivery, type Settle, type TaskQueue } from "../queue/index.js";
import type { DispatchRelay } from "../relay.js";
import type { StoreTasks } from "../store-client.js";
import type { Attempts } from "./attempts.js";
import type { CapMarks } from "./caps.js";
import { toItem } from "./context.js";
import { startAttempt } from "./start.js";
import { withStoreRetry } from "./store-retry.js";
import { keepLease } from "./lease.js";
import { progressBatcher } from "./progress.js";
import { backoffMs, classify, Stop } from "./retry.js";
import { route, type ModelCall } from "./route.js";

export interface WorkerDeps {
  config: BrokerConfig;
  store: StoreTasks;
  queue: TaskQueue;
  /** Publishes the tasks the store queued with their dispatch rows (a graph run's next nodes). */
  relay: Pick<DispatchRelay, "poke">;
  bus: EventBus;
  catalog: Catalog;
  providers: Map<string, LiveProvider>;
  metrics: BrokerMetrics;
  log: Logger;
}

/** The task's model alias; one the models file no longer has runs on the default model. */
const aliasOf = (task: Task, catalog: Catalog): string => (task.options?.model && catalog.has(task.options.model) ? task.options.model : catalog.defaultModel);

function requestOf(task: Task, started: StartTaskResponse): ProviderRequest {
  const type = fromProtoEnum<TaskKind>(task.type, "TASK_TYPE_") ?? "generate";
  return {
    type,
    prompt: task.prompt,
    // The store already cut the context to the prompt budget (AI_CONTEXT_TOKENS, or less: what the model takes in).
    target: started.node ? toItem(started.node) : undefined,
    context: started.context.map(toItem),
    temperature: task.options?.temperature,
    maxTokens: task.options?.maxTokens,
  };
}

/**
 * One delivery of a task message, start to settle. The store decides whether this attempt
 * may run (StartTask takes the lease, refuses finished, cancelled or live-leased tasks), so
 * a redelivered or duplicated message never runs the provider twice or writes a result twice.
 */
export async function runTask(deps: WorkerDeps, delivery: Delivery, attempts: Attempts, marks: CapMarks): Promise<Settle> {
  const { taskId } = delivery.message;
  if (!attempts.hold(taskId)) return "ack";
  try {
    return await runHeld(deps, delivery, attempts, marks);
  } finally {
    attempts.release(taskId);
  }
}

async function runHeld(deps: WorkerDeps, delivery: Delivery, attempts: Attempts, marks: CapMarks): Promise<Settle> {
  const { config, store, queue, bus, catalog, metrics } = deps;
  const { taskId, projectId } = delivery.message;
  const log = deps.log.child({ taskId });
  const workerId = config.workerId;
  const token = () => store.serviceToken();
  const outcome = await startAttempt(deps, delivery, marks, log);
  if ("settle" in outcome) return outcome.settle;
  const started = outcome.run;
  const task = started.task;
  const type = fromProtoEnum<TaskKind>(task.type, "TASK_TYPE_") ?? "generate";
  const abort = attempts.begin(taskId);
  const stopLease = keepLease(store, taskId, workerId, config.leaseMs, abort, log);
  const progress = progressBatcher(bus, projectId || task.projectId, taskId);
  const began = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - began) / 1e9;
  metrics.inflight.inc();
  // Every provider call of this attempt: billed with its outcome, whichever way it ends.
  let calls: ModelCall[] = [];
  try {
    let first = true;
    let current = "";
    // Each call has its own timeout (the provider's timeoutMs, AI_TASK_TIMEOUT by default), so a
    // provider that hangs moves the task to the next model instead of ending the attempt.
    const routed = await route(
      { catalog, providers: deps.providers, metrics, onModel: (alias) => (current = catalog.provider(alias).name) },
      aliasOf(task, catalog),
      requestOf(task, started),
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
      store.lifecycle.completeTask(
        {
          id: taskId,
          workerId,
          output: result.output,
          usage: { ...result.usage, costUsd: calls.reduce((sum, c) => sum + c.costUsd, 0) },
          provider: catalog.provider(routed.alias).name,
          model: result.model,
          contextCut: started.contextCut,
          calls,
        },
        { token: await token() },
      ),
    );
    // The next nodes of a graph run that this completion made ready: their messages were
    // written with them (dispatch rows); the relay publishes them now.
    if (spawned.length) deps.relay.poke();
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
    withStoreRetry(async () => store.lifecycle.failTask({ id: task.id, workerId, error, final, calls }, { token: await store.serviceToken() }));

  if (err instanceof Stop && (err.why === "cancelled" || err.why === "lease-lost")) {
    // Cancelled: the store already says so. Lease lost: another attempt owns the task now.
    metrics.tasks.inc({ type, status: err.why === "cancelled" ? "cancelled" : "lease_lost" });
    log.info({ why: err.why }, "attempt stopped");
    // What a cancelled call streamed was paid for: the store bills it and, the task being
    // finished, changes nothing else.
    if (err.why === "cancelled" && calls.some((c) => c.inputTokens > 0 || c.outputTokens > 0))
      await fail({ code: "CANCELLED", message: "attempt cancelled" }, false).catch((billErr: unknown) =>
        log.warn({ err: billErr }, "could not bill the stopped attempt's calls"),
      );
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

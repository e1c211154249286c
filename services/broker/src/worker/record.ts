import { setTimeout as sleep } from "node:timers/promises";
import type { TaskError } from "@sker/contracts/store/v1/task";
import { priorityOfTask, type Settle } from "../queue/index.js";
import type { Attempt } from "./attempt.js";
import type { callModels } from "./call-models.js";
import { backoffMs, classify, Stop } from "./retry.js";
import type { WorkerDeps } from "./run-task.js";
import { withStoreRetry } from "./store-retry.js";

/**
 * The record step of an answered attempt: the output goes to the store, which writes it once.
 * A refusal (the store will not take this output) throws, to be recorded as a failed attempt:
 * permanent ones fail the task at once. Acking it instead left the task running, to be
 * reclaimed and run again forever.
 */
export async function recordSuccess(deps: WorkerDeps, attempt: Attempt, answer: Awaited<ReturnType<typeof callModels>>): Promise<Settle> {
  const { config, store, catalog, metrics } = deps;
  const { task, type, calls } = attempt;
  const { result } = answer;
  await attempt.progress.close();
  const { applied, spawned } = await withStoreRetry(async () =>
    store.lifecycle.completeTask(
      {
        id: task.id,
        workerId: config.workerId,
        output: result.output,
        usage: { ...result.usage, costUsd: calls.reduce((sum, c) => sum + c.costUsd, 0) },
        provider: catalog.provider(answer.alias).name,
        model: result.model,
        contextCut: attempt.started.contextCut,
        calls,
      },
      { token: await store.serviceToken() },
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
  metrics.taskDuration.observe({ type, status: "completed" }, attempt.elapsed());
  metrics.tokens.inc({ provider: result.provider, direction: "input" }, result.usage.inputTokens);
  metrics.tokens.inc({ provider: result.provider, direction: "output" }, result.usage.outputTokens);
  return "ack";
}

/**
 * The record step of a failed attempt: tell the store (retry later, or fail for good and
 * dead-letter), bill the calls made, and settle the delivery.
 */
export async function recordFailure(deps: WorkerDeps, attempt: Attempt, err: unknown): Promise<Settle> {
  const { config, store, queue, metrics } = deps;
  const { task, type, log, calls } = attempt;
  const seconds = attempt.elapsed();
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

import type { EventBus, Logger } from "@sker/kit";
import type { BrokerConfig } from "../config.js";
import type { BrokerMetrics } from "../metrics.js";
import type { Catalog } from "../models/catalog.js";
import type { LiveProvider } from "../models/providers.js";
import type { Delivery, Settle, TaskQueue } from "../queue/index.js";
import type { DispatchRelay } from "../relay.js";
import type { StoreTasks } from "../store-client.js";
import { beginAttempt } from "./attempt.js";
import type { Attempts } from "./attempts.js";
import { callModels } from "./call-models.js";
import type { CapMarks } from "./caps.js";
import { recordFailure, recordSuccess } from "./record.js";
import { startAttempt } from "./start.js";

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

/** Start (the store's lease), run (the models), record (the store writes the outcome once). */
async function runHeld(deps: WorkerDeps, delivery: Delivery, attempts: Attempts, marks: CapMarks): Promise<Settle> {
  const log = deps.log.child({ taskId: delivery.message.taskId });
  const outcome = await startAttempt(deps, delivery, marks, log);
  if ("settle" in outcome) return outcome.settle;
  const attempt = beginAttempt(deps, delivery, outcome.run, attempts, log);
  try {
    return await recordSuccess(deps, attempt, await callModels(deps, attempt));
  } catch (err) {
    await attempt.progress.close();
    return await recordFailure(deps, attempt, err);
  } finally {
    attempt.end();
  }
}

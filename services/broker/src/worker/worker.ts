import { setTimeout as sleep } from "node:timers/promises";
import { context, SpanKind, trace } from "@opentelemetry/api";
import { extractHeaders } from "@sker/kit";
import { Attempts } from "./attempts.js";
import { CapMarks } from "./caps.js";
import { runTask, type WorkerDeps } from "./run-task.js";
import { Stop } from "./retry.js";

const tracer = trace.getTracer("sker-broker-worker");

/**
 * Consumes the task queue with prefetch = BROKER_CONCURRENCY and aborts a running attempt
 * when a cancel arrives on the control fanout. stop() drains: no new deliveries, in-flight
 * attempts get the time left, then the rest are aborted and handed back to the queue.
 */
export async function startWorker(deps: WorkerDeps) {
  const attempts = new Attempts();
  const marks = new CapMarks(deps.config.deferMs);
  const inflight = new Set<Promise<unknown>>();
  await deps.queue.onCancel((taskId) => attempts.cancel(taskId));
  await deps.queue.consume(deps.config.concurrency, (delivery) => {
    // The run joins the trace of the request that submitted the task (context from the message).
    const p = context.with(extractHeaders(delivery.message.trace), () =>
      tracer.startActiveSpan("task.run", { kind: SpanKind.CONSUMER, attributes: { "sker.task_id": delivery.message.taskId } }, (span) =>
        runTask(deps, delivery, attempts, marks).finally(() => span.end()),
      ),
    );
    inflight.add(p);
    void p.finally(() => inflight.delete(p)).catch(() => undefined);
    return p;
  });
  return {
    attempts,
    async stop(timeoutMs: number): Promise<void> {
      await deps.queue.stopConsuming();
      const drained = Promise.allSettled([...inflight]);
      const late = await Promise.race([drained.then(() => false), sleep(Math.max(0, timeoutMs - 2_000)).then(() => true)]);
      if (late) {
        attempts.abortAll(new Stop("shutdown"));
        await Promise.race([Promise.allSettled([...inflight]), sleep(2_000)]);
      }
    },
  };
}

import type { Logger } from "@sker/kit";
import { priorityOfTask, type TaskQueue } from "./queue/index.js";
import type { StoreTasks } from "./store-client.js";

const BATCH = 200;
/** Long enough to publish a batch with confirms; a relay that dies leaves its rows for this long. */
const CLAIM_MS = 30_000;
const MAX_BACKOFF_MS = 5_000;
/**
 * Submits that come in a burst are claimed and acked together (two store calls per batch): a
 * poke within GATHER_MS of the last pass waits that long for company. A poke on a quiet relay
 * goes at once, so a lone task is not held back by the wait for a burst that is not coming.
 */
const GATHER_MS = 10;

const traceOf = (d: { traceparent: string; tracestate: string }) =>
  d.traceparent ? { traceparent: d.traceparent, ...(d.tracestate ? { tracestate: d.tracestate } : {}) } : undefined;

/**
 * Publishes the task queue's outbox (TaskService.ClaimDispatches): the rows CreateTask and
 * ReclaimTasks write with each task. Poked after every submit and reclaim, and every pollMs
 * besides (another broker's submits, RabbitMQ back after an outage). Rows are acked only once
 * RabbitMQ confirmed their message; a message published twice is harmless (StartTask refuses a
 * task that is leased or finished).
 */
export function startDispatchRelay(opts: { store: StoreTasks; queue: TaskQueue; pollMs: number; log: Logger }) {
  const log = opts.log.child({ component: "dispatch-relay" });
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  let backoff = 0;
  let timer: NodeJS.Timeout | undefined;
  let dueAt = 0;
  let lastPassEnd = -Infinity;

  /** The next pass in `ms`, unless one is already due sooner. */
  const schedule = (ms: number) => {
    if (stopped) return;
    if (timer && dueAt <= Date.now() + ms) return;
    clearTimeout(timer);
    dueAt = Date.now() + ms;
    timer = setTimeout(() => {
      timer = undefined;
      void run();
    }, ms);
    timer.unref();
  };

  /** One claim → publish → ack round; answers whether a full batch went out (more may wait). */
  const pass = async (): Promise<boolean> => {
    const token = await opts.store.serviceToken();
    const { dispatches } = await opts.store.lifecycle.claimDispatches({ limit: BATCH, leaseMs: CLAIM_MS }, { token });
    if (dispatches.length === 0) return false;
    const results = await Promise.allSettled(
      dispatches.map((d) =>
        opts.queue.publish({ taskId: d.taskId, projectId: d.projectId, trace: traceOf(d) }, priorityOfTask(d.priority), { reclaimed: d.reclaimed }),
      ),
    );
    const ids = dispatches.filter((_, i) => results[i].status === "fulfilled").map((d) => d.id);
    if (ids.length) await opts.store.lifecycle.ackDispatches({ ids }, { token });
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
    return dispatches.length === BATCH;
  };

  const run = async () => {
    if (running || stopped) {
      again = true;
      return;
    }
    let next = opts.pollMs;
    running = (async () => {
      try {
        again = false;
        while ((await pass()) && !stopped);
        backoff = 0;
      } catch (err) {
        backoff = Math.min(Math.max(backoff * 2, 200), MAX_BACKOFF_MS);
        next = backoff;
        log.warn({ err: (err as Error).message, retryInMs: backoff }, "dispatch relay: publishing failed; the tasks stay in the outbox");
      }
    })();
    await running;
    running = undefined;
    lastPassEnd = Date.now();
    schedule(again && backoff === 0 ? GATHER_MS : next);
  };

  schedule(0);
  return {
    /** A task was just written with its dispatch: publish now, not at the next poll. */
    poke(): void {
      if (stopped) return;
      if (running) again = true;
      else if (backoff === 0) schedule(Date.now() - lastPassEnd > GATHER_MS ? 0 : GATHER_MS);
    },
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

export type DispatchRelay = ReturnType<typeof startDispatchRelay>;

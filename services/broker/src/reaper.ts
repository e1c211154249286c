import type { Logger } from "@sker/kit";
import type { TaskQueue } from "./queue/index.js";
import type { DispatchRelay } from "./relay.js";
import type { StoreTasks } from "./store-client.js";

/** The largest age ReclaimTasks takes (int32 ms, about 24 days). */
const NEVER_MS = 2 ** 31 - 1;
/** While messages wait, a queued task counts as lost only at this multiple of the usual age (at least 30 min). */
const BACKLOG_FACTOR = 10;
const BACKLOG_MIN_MS = 30 * 60_000;

/**
 * Brings lost tasks round again: running tasks whose lease expired (their worker died) and
 * queued tasks whose message was lost (RabbitMQ lost it). The store writes each one's queue
 * message (a dispatch row, marked reclaimed so it runs before newer tasks of its priority) in
 * the reclaim's transaction, and the relay publishes it. Every broker runs one; a task
 * published twice is harmless, since StartTask refuses a task that is finished or leased by a
 * live worker.
 */
const DEAD_LETTER_SWEEP_MS = 3_600_000;

export function startReaper(opts: { store: StoreTasks; queue: TaskQueue; relay: Pick<DispatchRelay, "poke">; intervalMs: number; queuedAfterMs: number; log: Logger; limit?: number; deadLetterDays?: number }) {
  const log = opts.log.child({ component: "reaper" });
  let busy: Promise<number> | undefined;
  const sweep = () =>
    (busy ??= (async () => {
      try {
        // A queued task counts as lost only while nothing waits in the queues: with a backlog
        // (or retries in their delay queues) an old queued task is most likely still in line,
        // and republishing it every sweep would pile up duplicates. Expired leases are always taken.
        const stats = await opts.queue.stats().catch(() => undefined);
        const waiting = stats ? stats.queues.reduce((n, q) => n + q.messages, 0) - stats.deadLetters : 1;
        // With a backlog a lost publish still comes round, only later: at BACKLOG_FACTOR × the age.
        const { tasks } = await opts.store.lifecycle.reclaimTasks(
          { queuedAfterMs: waiting > 0 ? Math.min(NEVER_MS, Math.max(BACKLOG_FACTOR * opts.queuedAfterMs, BACKLOG_MIN_MS)) : opts.queuedAfterMs, limit: opts.limit ?? 500 },
          { token: await opts.store.serviceToken() },
        );
        if (tasks.length > 0) {
          opts.relay.poke();
          log.info({ count: tasks.length }, "reclaimed tasks; their messages go out first in their priority");
        }
        return tasks.length;
      } catch (err) {
        log.warn({ err }, "reclaim sweep failed; trying again next interval");
        return 0;
      } finally {
        busy = undefined;
      }
    })());
  const timer = setInterval(() => void sweep(), opts.intervalMs);
  timer.unref();
  // Retention of dead letters: hourly, those that failed more than deadLetterDays ago go.
  const pruneDead = async () => {
    if (!opts.deadLetterDays) return 0;
    const dropped = await opts.queue.pruneDeadLetters(new Date(Date.now() - opts.deadLetterDays * 86_400_000)).catch((err: Error) => {
      log.warn({ err: err.message }, "dead-letter retention failed; trying again next hour");
      return 0;
    });
    if (dropped) log.info({ dropped }, "dead letters past retention dropped");
    return dropped;
  };
  const deadTimer = setInterval(() => void pruneDead(), DEAD_LETTER_SWEEP_MS);
  deadTimer.unref();
  return {
    sweep,
    pruneDead,
    async stop() {
      clearInterval(timer);
      clearInterval(deadTimer);
      await busy;
    },
  };
}

import type { Logger } from "@sker/kit";
import { priorityOfTask, type TaskQueue } from "./queue/index.js";
import type { StoreTasks } from "./store-client.js";

/** A queued-age no task reaches (about 24 days): "reclaim no queued task this sweep". */
const NEVER_MS = 2 ** 31 - 1;

/**
 * Brings lost tasks round again: running tasks whose lease expired (their worker died) and
 * queued tasks whose message was lost (a crash between persist and publish). Every broker
 * runs one; a task published twice is harmless, since StartTask refuses a task that is
 * finished or leased by a live worker.
 */
export function startReaper(opts: { store: StoreTasks; queue: TaskQueue; intervalMs: number; queuedAfterMs: number; log: Logger; limit?: number }) {
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
        const { tasks } = await opts.store.tasks.reclaimTasks(
          { queuedAfterMs: waiting > 0 ? NEVER_MS : opts.queuedAfterMs, limit: opts.limit ?? 500 },
          { token: await opts.store.serviceToken() },
        );
        for (const t of tasks) await opts.queue.publish({ taskId: t.id, projectId: t.projectId }, priorityOfTask(t.priority));
        if (tasks.length > 0) log.info({ count: tasks.length }, "republished reclaimed tasks");
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
  return {
    sweep,
    async stop() {
      clearInterval(timer);
      await busy;
    },
  };
}

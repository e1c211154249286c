import type { Logger } from "@sker/kit";
import { priorityOfTask, type TaskQueue } from "./queue/index.js";
import type { StoreTasks } from "./store-client.js";

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
        const { tasks } = await opts.store.tasks.reclaimTasks(
          { queuedAfterMs: opts.queuedAfterMs, limit: opts.limit ?? 500 },
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

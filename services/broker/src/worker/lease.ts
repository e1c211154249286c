import type { Logger } from "@sker/kit";
import { TaskStatus } from "@sker/contracts/store/v1/task";
import type { StoreTasks } from "../store-client.js";
import { Stop } from "./retry.js";

/**
 * Renews the task's lease every third of its length while the attempt runs. When the store
 * says the lease is gone (the task was cancelled, or reclaimed after we stalled), the attempt
 * is aborted: its result would be refused anyway.
 */
export function keepLease(store: StoreTasks, id: string, workerId: string, leaseMs: number, abort: AbortController, log: Logger): () => void {
  let busy = false;
  const timer = setInterval(async () => {
    if (busy || abort.signal.aborted) return;
    busy = true;
    try {
      const res = await store.lifecycle.renewLease({ id, workerId, leaseMs }, { token: await store.serviceToken(), deadlineMs: Math.max(500, leaseMs / 3) });
      if (!res.ok) abort.abort(new Stop(res.status === TaskStatus.TASK_STATUS_CANCELLED ? "cancelled" : "lease-lost"));
    } catch (err) {
      // The store may be briefly away; the next tick tries again before the lease runs out.
      log.warn({ err, taskId: id }, "lease renewal failed");
    } finally {
      busy = false;
    }
  }, Math.max(100, Math.floor(leaseMs / 3)));
  timer.unref();
  return () => clearInterval(timer);
}

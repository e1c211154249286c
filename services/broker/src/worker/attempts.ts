import { Stop } from "./retry.js";

/** How long a cancel for a task this process is not (yet) running is remembered. */
const REMEMBER_MS = 60_000;

/**
 * The attempts this process is running, by task id, so a cancel from the control fanout can
 * abort one. A cancel that arrives while the attempt is still starting (its StartTask in
 * flight) is remembered and aborts the attempt as soon as it begins, rather than waiting for
 * the next lease renewal to notice.
 */
export class Attempts {
  private readonly running = new Map<string, AbortController>();
  private readonly cancelled = new Map<string, number>();
  private readonly held = new Set<string>();

  /**
   * One delivery per task at a time in this process, from before StartTask to the settle: a
   * second delivery meanwhile (redelivery, reaper) would otherwise get the same worker's lease
   * handed back by StartTask and run the provider twice. False: drop that delivery.
   */
  hold(taskId: string): boolean {
    if (this.held.has(taskId)) return false;
    this.held.add(taskId);
    return true;
  }

  release(taskId: string): void {
    this.held.delete(taskId);
  }

  begin(taskId: string): AbortController {
    const abort = new AbortController();
    this.running.set(taskId, abort);
    const until = this.cancelled.get(taskId);
    if (until !== undefined) {
      this.cancelled.delete(taskId);
      if (until > Date.now()) abort.abort(new Stop("cancelled"));
    }
    return abort;
  }

  end(taskId: string): void {
    this.running.delete(taskId);
  }

  cancel(taskId: string): void {
    const abort = this.running.get(taskId);
    if (abort) {
      abort.abort(new Stop("cancelled"));
      return;
    }
    const now = Date.now();
    for (const [id, until] of this.cancelled) if (until <= now) this.cancelled.delete(id);
    this.cancelled.set(taskId, now + REMEMBER_MS);
  }

  abortAll(reason: Stop): void {
    for (const abort of this.running.values()) abort.abort(reason);
  }

  get size(): number {
    return this.running.size;
  }
}

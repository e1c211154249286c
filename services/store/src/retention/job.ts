import type { Kysely } from "kysely";
import type { Logger } from "@sker/kit";
import type { Database } from "../db/schema.js";
import { prune, type PruneResult, type RetentionPolicy } from "./prune.js";

/** Runs retention every `intervalMs` (first soon after start); one replica at a time prunes. */
export class RetentionJob {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly policy: RetentionPolicy,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.schedule(Math.min(this.intervalMs, 60_000));
  }

  /** One pass now (tests, and the timer). */
  async runOnce(now?: Date): Promise<PruneResult> {
    const run = prune(this.db, this.policy, now);
    this.running = run.catch(() => undefined);
    const res = await run;
    if (res.events || res.tasks) this.log.info({ events: res.events, tasks: res.tasks }, "retention: pruned");
    return res;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(async () => {
      await this.runOnce().catch((err: Error) => this.log.warn({ err: err.message }, "retention pass failed; will retry"));
      this.schedule(this.intervalMs);
    }, ms);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}

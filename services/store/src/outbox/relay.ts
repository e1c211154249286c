import { sql, type Kysely } from "kysely";
import type { BusEvent, EventBus, Logger } from "@sker/kit";
import type { Database, EventRow } from "../db/schema.js";
import { EventPayload } from "@sker/contracts/store/v1/event";
import { actorOf, payloadOf } from "../events/map.js";
import type { OutboxMetrics } from "./metrics.js";

/** One relay per database across all store replicas: whoever holds this lock publishes. */
const RELAY_LOCK = 0x5ce7_0b0c;

export interface RelayOptions {
  db: Kysely<Database>;
  bus: EventBus;
  log: Logger;
  /** Safety net: also look every pollMs (events of other replicas, recovery after an outage). */
  pollMs: number;
  batchSize?: number;
  metrics?: OutboxMetrics;
  /** GATHER_MS unless set (tests). */
  gatherMs?: number;
  /** MAX_GATHER_MS unless set (tests). */
  maxGatherMs?: number;
}

/**
 * How long commits gather before a pass: after a pass that was poked while busy, and for a poke
 * that comes within this long of the last pass's end. A poke on a quiet relay goes at once, so a
 * lone event is not held back; under load a pass carries a burst (each pass is three statements).
 */
const GATHER_MS = 10;
/**
 * A slow pass (the machine saturated: every pass is slow then) widens the window to its own
 * length, up to this: passes then come no more often than they take, and each carries more of
 * the load instead of adding its three statements to it.
 */
const MAX_GATHER_MS = 50;

type Pass = { published: number; more: boolean; failed: boolean; busy: boolean };

/** `data` is the EventPayload as protobuf JSON: the gateway renders it with its REST mapper. */
export function toBusEvent(e: EventRow): BusEvent {
  const data = e.payload ?? EventPayload.toJSON(payloadOf(e));
  return { projectId: e.project_id, seq: e.seq, name: e.name, data, at: e.created_at.toISOString(), actor: actorOf(e) };
}

/**
 * Publishes committed events to the bus and marks them published. Each pass runs in one
 * transaction under an advisory lock (so only one replica relays at a time), publishes the
 * oldest unpublished events in id order — which within a project is seq order, since seqs are
 * handed out under the project row lock — and marks the confirmed prefix as published. When the
 * bus is down the events stay unpublished and the relay backs off; nothing is lost, and an event
 * is only re-sent if the process dies between the broker's confirm and the commit.
 */
export class OutboxRelay {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private pending = false;
  private stopped = false;
  private backoffMs = 0;
  private dueAt = 0;
  private lastPassEnd = -Infinity;
  private lastPassMs = 0;

  private readonly gatherMs: number;
  private readonly maxGatherMs: number;

  constructor(private readonly opts: RelayOptions) {
    this.gatherMs = opts.gatherMs ?? GATHER_MS;
    this.maxGatherMs = Math.max(this.gatherMs, opts.maxGatherMs ?? MAX_GATHER_MS);
  }

  start(): void {
    this.schedule(0);
  }

  /** Called after every commit that wrote events: publish them now rather than at the next poll. */
  poke(): void {
    if (this.stopped) return;
    if (this.running) {
      this.pending = true;
      return;
    }
    if (this.backoffMs > 0) return; // the bus is down; the backoff timer will come back
    const wait = Math.max(0, this.lastPassEnd + this.window() - Date.now());
    if (this.timer && this.dueAt <= Date.now() + wait) return; // a pass is due sooner anyway
    this.schedule(wait);
  }

  /** Runs passes until nothing is left (or the bus fails); for shutdown and tests. */
  async flush(): Promise<void> {
    for (;;) {
      await this.running;
      const pass = await this.pass();
      if (!pass.more && !pass.busy) return;
      if (pass.failed) return;
      if (pass.busy) await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** How long commits gather after a pass: GATHER_MS, or as long as the last pass took (at most MAX_GATHER_MS). */
  private window(): number {
    return Math.min(this.maxGatherMs, Math.max(this.gatherMs, this.lastPassMs));
  }

  private schedule(ms: number) {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.dueAt = Date.now() + ms;
    this.timer = setTimeout(() => void this.tick(), ms);
    this.timer.unref();
  }

  private async tick() {
    this.timer = undefined;
    if (this.running || this.stopped) return;
    this.pending = false;
    const began = Date.now();
    let next = this.opts.pollMs;
    const run = this.pass();
    this.running = run.then(
      () => undefined,
      () => undefined,
    );
    try {
      const pass = await run;
      if (pass.failed) {
        this.backoffMs = Math.min(Math.max(this.backoffMs * 2, 200), 5_000);
        next = this.backoffMs;
      } else {
        this.backoffMs = 0;
        if (pass.more) next = 0;
        // Commits that came during the pass: a moment more gathers a burst into fewer passes.
        else if (this.pending) next = this.window();
        else if (pass.busy) next = 100;
      }
    } catch (err) {
      this.opts.log.error({ err }, "outbox pass failed");
      this.backoffMs = Math.min(Math.max(this.backoffMs * 2, 200), 5_000);
      next = this.backoffMs;
    } finally {
      this.running = undefined;
      this.lastPassEnd = Date.now();
      this.lastPassMs = this.lastPassEnd - began;
    }
    this.schedule(next);
  }

  private async pass(): Promise<Pass> {
    const { db, bus, log, metrics } = this.opts;
    const batch = this.opts.batchSize ?? 200;
    return db.transaction().execute(async (trx) => {
      // One statement: the relay lock, then the oldest unpublished events marked and read. What
      // the bus then refuses is unmarked again below, before the same transaction commits.
      const { rows } = await sql<EventRow & { locked: boolean }>`
        WITH relay AS MATERIALIZED (SELECT pg_try_advisory_xact_lock(${RELAY_LOCK}) AS locked),
        marked AS (
          UPDATE events SET published_at = now()
          WHERE (SELECT locked FROM relay)
            AND id IN (SELECT id FROM events WHERE published_at IS NULL ORDER BY id LIMIT ${batch})
          RETURNING *
        )
        SELECT relay.locked, marked.* FROM relay LEFT JOIN marked ON true ORDER BY marked.id
      `.execute(trx);
      if (!rows[0]?.locked) return { published: 0, more: false, failed: false, busy: true };
      const events: EventRow[] = rows.filter((r) => r.id !== null);
      if (events.length === 0) return { published: 0, more: false, failed: false, busy: false };
      // Pipelined on one channel (RabbitMQ keeps the order); only the confirmed prefix counts.
      const results = await Promise.allSettled(events.map((e) => bus.publish(toBusEvent(e))));
      let ok = 0;
      while (ok < results.length && results[ok].status === "fulfilled") ok++;
      if (ok > 0) metrics?.published.inc(ok);
      const failed = ok < events.length;
      if (failed) {
        await trx
          .updateTable("events")
          .set({ published_at: null })
          .where("id", "in", events.slice(ok).map((e) => e.id))
          .execute();
        const reason = (results[ok] as PromiseRejectedResult).reason as Error;
        metrics?.failures.inc();
        log.warn({ err: reason?.message, unpublished: events.length - ok }, "outbox: bus unavailable; will retry");
      }
      return { published: ok, more: !failed && events.length === batch, failed, busy: false };
    });
  }
}

import { Gauge } from "prom-client";
import type { Kysely } from "kysely";
import type { Logger, Metrics } from "@sker/kit";
import type { Database } from "./db/schema.js";
import { oldestUnpublishedSeconds } from "./outbox/repo.js";
import { oldestQueuedSeconds } from "./tasks/repo.js";

/**
 * Backlog ages read from the database at scrape time: every replica sees the same rows, so
 * alerts take max() across them. A failed read keeps the last value rather than fail the scrape.
 */
export function backlogMetrics(metrics: Metrics, db: Kysely<Database>, log: Logger): void {
  const gauge = (name: string, help: string, read: (db: Kysely<Database>) => Promise<number>) =>
    new Gauge({
      name,
      help,
      registers: [metrics.registry],
      async collect() {
        try {
          this.set(await read(db));
        } catch (err) {
          log.warn({ err: (err as Error).message, metric: name }, "could not read a backlog metric");
        }
      },
    });
  gauge("store_tasks_oldest_queued_seconds", "Age of the oldest queued task since it was last queued", oldestQueuedSeconds);
  gauge("store_outbox_oldest_unpublished_seconds", "Age of the oldest event not yet published to the bus (outbox lag)", oldestUnpublishedSeconds);
}

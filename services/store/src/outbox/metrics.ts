import { Counter } from "prom-client";
import type { Metrics } from "@sker/kit";

export function outboxMetrics(metrics: Metrics) {
  return {
    published: new Counter({ name: "store_events_published_total", help: "Outbox events published to the bus", registers: [metrics.registry] }),
    failures: new Counter({ name: "store_outbox_publish_failures_total", help: "Outbox passes that stopped on a bus failure", registers: [metrics.registry] }),
  };
}

export type OutboxMetrics = ReturnType<typeof outboxMetrics>;

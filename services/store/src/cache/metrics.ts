import { Counter } from "prom-client";
import type { Metrics } from "@sker/kit";

export function cacheMetrics(metrics: Metrics) {
  return {
    lookups: new Counter({
      name: "store_cache_lookups_total",
      help: "Cache lookups by result (hit, miss, error)",
      labelNames: ["result"],
      registers: [metrics.registry],
    }),
  };
}

export type CacheMetrics = ReturnType<typeof cacheMetrics>;

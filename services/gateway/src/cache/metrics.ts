import { Counter, Gauge, type Registry } from "prom-client";

export interface CacheMetrics {
  hit: { inc(): void };
  miss: { inc(): void };
  bypass: { inc(): void };
  gaps: { inc(): void };
  dropped: { inc(labels: { reason: string }): void };
  observe(size: () => { entries: number; bytes: number; projects: number }): void;
}

/** gateway_read_cache_*: hit rate (hit / (hit + miss)), bypasses, drops, size. */
export function cacheMetrics(registry: Registry): CacheMetrics {
  const registers = [registry];
  const reads = new Counter({ name: "gateway_read_cache_reads_total", help: "Cacheable reads by result: hit, miss (read from the store), bypass (cache off or not usable)", labelNames: ["result"], registers });
  const gaps = new Counter({ name: "gateway_read_cache_gaps_total", help: "Projects dropped because their events showed a gap in seq", registers });
  const dropped = new Counter({ name: "gateway_read_cache_drops_total", help: "Whole-cache drops by reason (bus disconnected, bus attached)", labelNames: ["reason"], registers });
  let size = () => ({ entries: 0, bytes: 0, projects: 0 });
  const gauge = (name: string, help: string, pick: (s: ReturnType<typeof size>) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(pick(size()));
      },
    });
  gauge("gateway_read_cache_entries", "Nodes held", (s) => s.entries);
  gauge("gateway_read_cache_bytes", "Bytes of nodes held (their JSON)", (s) => s.bytes);
  gauge("gateway_read_cache_projects", "Projects bound on the bus for the cache", (s) => s.projects);
  return {
    hit: reads.labels("hit"),
    miss: reads.labels("miss"),
    bypass: reads.labels("bypass"),
    gaps,
    dropped,
    observe: (fn) => void (size = fn),
  };
}

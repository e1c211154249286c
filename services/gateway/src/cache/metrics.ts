import { Counter, Gauge, type Registry } from "prom-client";

type Route = "node" | "graph";

export interface CacheMetrics {
  hit(route: Route): void;
  miss(route: Route): void;
  bypass(route: Route): void;
  gaps: { inc(): void };
  dropped: { inc(labels: { reason: string }): void };
  observe(size: () => { entries: number; bytes: number; projects: number }): void;
}

/** gateway_read_cache_*: hit rate (hit / (hit + miss)), bypasses, drops, size. */
export function cacheMetrics(registry: Registry): CacheMetrics {
  const registers = [registry];
  const reads = new Counter({ name: "gateway_read_cache_reads_total", help: "Cacheable reads (route: node, graph) by result: hit, miss (read from the store), bypass (cache off or not usable)", labelNames: ["result", "route"], registers });
  const gaps = new Counter({ name: "gateway_read_cache_gaps_total", help: "Projects dropped because their events showed a gap in seq", registers });
  const dropped = new Counter({ name: "gateway_read_cache_drops_total", help: "Whole-cache drops by reason (bus disconnected, bus attached)", labelNames: ["reason"], registers });
  // Bound once: the hit path should not hash labels.
  const by = (route: Route) => ({ hit: reads.labels({ result: "hit", route }), miss: reads.labels({ result: "miss", route }), bypass: reads.labels({ result: "bypass", route }) });
  const counted = { node: by("node"), graph: by("graph") };
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
  gauge("gateway_read_cache_entries", "Nodes and graphs held", (s) => s.entries);
  gauge("gateway_read_cache_bytes", "Bytes of nodes and graphs held (their JSON)", (s) => s.bytes);
  gauge("gateway_read_cache_projects", "Projects bound on the bus for the cache", (s) => s.projects);
  return {
    hit: (route) => counted[route].hit.inc(),
    miss: (route) => counted[route].miss.inc(),
    bypass: (route) => counted[route].bypass.inc(),
    gaps,
    dropped,
    observe: (fn) => void (size = fn),
  };
}

import { LRUCache } from "lru-cache";
import type { Node } from "@sker/contracts/store/v1/node";

/** What a fill read, and the tick at which that read began. */
export type Entry = { kind: "node"; node: Node; t: number } | { kind: "graph"; projectId: string; body: Buffer; t: number };

export const entryKey = { node: (id: string) => `n:${id}`, graph: (projectId: string) => `g:${projectId}` };

/** Nodes and whole graphs (a graph as its JSON bytes): one LRU bounded by entries and by bytes (their JSON), with a TTL. */
export function entries(opts: { maxEntries: number; maxBytes: number; ttlMs: number }): LRUCache<string, Entry> {
  return new LRUCache<string, Entry>({
    max: opts.maxEntries,
    maxSize: opts.maxBytes,
    // An entry larger than an eighth of the budget is not worth evicting many others for.
    maxEntrySize: Math.max(1, Math.floor(opts.maxBytes / 8)),
    sizeCalculation: (e, key) => (e.kind === "node" ? Buffer.byteLength(JSON.stringify(e.node)) : e.body.length) + key.length + 64,
    ttl: opts.ttlMs,
    updateAgeOnGet: false,
  });
}

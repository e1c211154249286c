import { LRUCache } from "lru-cache";
import type { Node } from "@sker/contracts/store/v1/node";

export interface NodeEntry {
  node: Node;
  /** The tick at which the fill that read it began. */
  t: number;
}

/** Nodes by id: an LRU bounded by entries and by bytes (the node's JSON), with a TTL. */
export function nodeEntries(opts: { maxEntries: number; maxBytes: number; ttlMs: number }): LRUCache<string, NodeEntry> {
  return new LRUCache<string, NodeEntry>({
    max: opts.maxEntries,
    maxSize: opts.maxBytes,
    // A node larger than an eighth of the budget is not worth evicting many others for.
    maxEntrySize: Math.max(1, Math.floor(opts.maxBytes / 8)),
    sizeCalculation: (e, id) => Buffer.byteLength(JSON.stringify(e.node)) + id.length + 64,
    ttl: opts.ttlMs,
    updateAgeOnGet: false,
  });
}

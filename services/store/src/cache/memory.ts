import type { Cache } from "../deps.js";
import { decode, encode } from "./codec.js";

/** The cache without REDIS_URL: one process only (all-in-one mode, tests). Bounded, TTL'd. */
export class MemoryCache implements Cache {
  private readonly entries = new Map<string, { raw: string; expires: number }>();

  constructor(private readonly maxEntries = 50_000) {}

  async get<T>(key: string): Promise<T | undefined> {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.expires <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return decode<T>(e.raw);
  }

  async set(key: string, value: unknown, ttlSeconds: number): Promise<void> {
    if (this.entries.size >= this.maxEntries) {
      // Map keeps insertion order: drop the oldest tenth.
      let n = Math.ceil(this.maxEntries / 10);
      for (const k of this.entries.keys()) {
        this.entries.delete(k);
        if (--n === 0) break;
      }
    }
    this.entries.set(key, { raw: encode(value), expires: Date.now() + ttlSeconds * 1000 });
  }

  async del(...keys: string[]): Promise<void> {
    for (const k of keys) this.entries.delete(k);
  }

  async getThen<A, B>(key: string, next: { field: string; prefix: string; suffix: string }): Promise<[A | undefined, B | undefined]> {
    const first = await this.get<A>(key);
    const link = first !== null && typeof first === "object" ? (first as Record<string, unknown>)[next.field] : undefined;
    return [first, typeof link === "string" ? await this.get<B>(`${next.prefix}${link}${next.suffix}`) : undefined];
  }

  async close(): Promise<void> {
    this.entries.clear();
  }
}

import { Redis } from "ioredis";
import type { Logger } from "@sker/kit";
import type { Cache } from "../deps.js";
import { decode, encode } from "./codec.js";
import type { CacheMetrics } from "./metrics.js";

const MAX_MISSED = 10_000;

// getThen's two reads in one round trip. KEYS[1] is prefixed by ioredis, the second key is
// built here from ARGV (prefix included); a value that is no JSON object ends the chain.
const GET_THEN = `
local first = redis.call('GET', KEYS[1])
if not first then return {false, false} end
local ok, v = pcall(cjson.decode, first)
if not ok or type(v) ~= 'table' or type(v[ARGV[1]]) ~= 'string' then return {first, false} end
return {first, redis.call('GET', ARGV[2] .. v[ARGV[1]] .. ARGV[3])}
`;

type WithGetThen = Redis & { getThen(key: string, field: string, prefix: string, suffix: string): Promise<[string | null, string | null]> };

/**
 * Redis cache-aside. A cache must never fail a request: with Redis down every get is a miss
 * and every set/del a no-op. No offline queue and a short connect timeout, so a dead Redis
 * costs an immediate rejection rather than a wait; ioredis keeps reconnecting in the background.
 */
export class RedisCache implements Cache {
  private readonly redis: WithGetThen;
  private warned = 0;
  /** Invalidations that failed while Redis was unreachable: replayed as soon as it is back. */
  private readonly missed = new Set<string>();
  private missedTooMany = false;

  constructor(url: string, keyPrefix: string, private readonly log: Logger, private readonly metrics?: CacheMetrics) {
    this.redis = new Redis(url, {
      keyPrefix,
      connectTimeout: 500,
      commandTimeout: 500,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      lazyConnect: false,
      retryStrategy: (times) => Math.min(100 * times, 2_000),
    }) as WithGetThen;
    this.redis.defineCommand("getThen", { numberOfKeys: 1, lua: GET_THEN });
    this.redis.on("error", (err) => this.degraded("redis error", err));
    this.redis.on("ready", () => void this.replayMissed());
  }

  async get<T>(key: string): Promise<T | undefined> {
    try {
      const raw = await this.redis.get(key);
      this.metrics?.lookups.inc({ result: raw === null ? "miss" : "hit" });
      return raw === null ? undefined : decode<T>(raw);
    } catch (err) {
      this.metrics?.lookups.inc({ result: "error" });
      this.degraded("cache get failed", err);
      return undefined;
    }
  }

  async getThen<A, B>(key: string, next: { field: string; prefix: string; suffix: string }): Promise<[A | undefined, B | undefined]> {
    try {
      const prefix = this.redis.options.keyPrefix ?? "";
      const [first, second] = await this.redis.getThen(key, next.field, `${prefix}${next.prefix}`, next.suffix);
      this.metrics?.lookups.inc({ result: first === null ? "miss" : "hit" });
      if (first !== null) this.metrics?.lookups.inc({ result: second === null ? "miss" : "hit" });
      return [first === null ? undefined : decode<A>(first), second === null ? undefined : decode<B>(second)];
    } catch (err) {
      this.metrics?.lookups.inc({ result: "error" });
      this.degraded("cache get failed", err);
      return [undefined, undefined];
    }
  }

  async set(key: string, value: unknown, ttlSeconds: number): Promise<void> {
    try {
      await this.redis.set(key, encode(value), "EX", ttlSeconds);
    } catch (err) {
      this.degraded("cache set failed", err);
    }
  }

  async del(...keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    try {
      await this.redis.del(...keys);
    } catch (err) {
      // Not forgotten: an entry that outlives this write must not be served once Redis is back.
      if (this.missed.size + keys.length > MAX_MISSED) this.missedTooMany = true;
      else for (const k of keys) this.missed.add(k);
      this.degraded("cache invalidation failed", err);
    }
  }

  private async replayMissed(): Promise<void> {
    if (this.missed.size === 0 && !this.missedTooMany) return;
    const keys = [...this.missed];
    const all = this.missedTooMany;
    this.missed.clear();
    this.missedTooMany = false;
    try {
      if (all) await this.dropAll();
      else for (let i = 0; i < keys.length; i += 500) await this.redis.del(...keys.slice(i, i + 500));
      this.log.info({ keys: all ? "all" : keys.length }, "cache: replayed invalidations missed during the Redis outage");
    } catch (err) {
      for (const k of keys) this.missed.add(k);
      this.missedTooMany ||= all;
      this.degraded("cache invalidation replay failed", err);
    }
  }

  /** Every key of this prefix (too many invalidations were missed to track one by one). */
  private async dropAll(): Promise<void> {
    const prefix = this.redis.options.keyPrefix ?? "";
    let cursor = "0";
    do {
      // SCAN's MATCH is not prefixed by ioredis; DEL is, so strip it from what SCAN returns.
      const [next, found] = await this.redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      if (found.length) await this.redis.del(...found.map((k) => k.slice(prefix.length)));
      cursor = next;
    } while (cursor !== "0");
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }

  /** Log an outage at most every 10 s, not once per request. */
  private degraded(msg: string, err: unknown) {
    const now = Date.now();
    if (now - this.warned < 10_000) return;
    this.warned = now;
    this.log.warn({ err: (err as Error)?.message ?? err }, `${msg}; serving from the database`);
  }
}

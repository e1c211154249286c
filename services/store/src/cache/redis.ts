import { Redis } from "ioredis";
import type { Logger } from "@sker/kit";
import type { Cache } from "../deps.js";
import { decode, encode } from "./codec.js";
import type { CacheMetrics } from "./metrics.js";

/**
 * Redis cache-aside. A cache must never fail a request: with Redis down every get is a miss
 * and every set/del a no-op. No offline queue and a short connect timeout, so a dead Redis
 * costs an immediate rejection rather than a wait; ioredis keeps reconnecting in the background.
 */
export class RedisCache implements Cache {
  private readonly redis: Redis;
  private warned = 0;

  constructor(url: string, keyPrefix: string, private readonly log: Logger, private readonly metrics?: CacheMetrics) {
    this.redis = new Redis(url, {
      keyPrefix,
      connectTimeout: 500,
      commandTimeout: 500,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      lazyConnect: false,
      retryStrategy: (times) => Math.min(100 * times, 2_000),
    });
    this.redis.on("error", (err) => this.degraded("redis error", err));
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
      // A failed invalidation could serve a stale entry until its TTL: TTLs stay short for that reason.
      this.degraded("cache invalidation failed", err);
    }
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

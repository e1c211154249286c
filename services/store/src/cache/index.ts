import type { Logger } from "@sker/kit";
import type { Cache } from "../deps.js";
import { MemoryCache } from "./memory.js";
import { RedisCache } from "./redis.js";
import type { CacheMetrics } from "./metrics.js";

export { MemoryCache, RedisCache };

export function createCache(opts: { redisUrl?: string; keyPrefix: string; log: Logger; metrics?: CacheMetrics }): Cache {
  return opts.redisUrl ? new RedisCache(opts.redisUrl, opts.keyPrefix, opts.log, opts.metrics) : new MemoryCache();
}

import { createRequire } from "node:module";
import type { FastifyRateLimitStoreCtor } from "@fastify/rate-limit";
import type { Redis } from "ioredis";
import type { Logger } from "@sker/kit";

// @fastify/rate-limit's own stores, behind one that picks per call: Redis (shared by every
// replica) while it answers, this process's memory while it does not. A limit must keep holding
// during a Redis outage (login brute force is exactly when it matters), and a request must not
// wait for a Redis that is not there: the client has no offline queue and a short command
// timeout, so a dead Redis costs one quick rejection, and while it is known to be down
// (status not "ready") not even that.
const require = createRequire(import.meta.url);
type Result = { current: number; ttl: number };
type Cb = (err: Error | null, res: Result | null) => void;
interface Store {
  incr(key: string, cb: Cb, timeWindow: number, max: number): void;
  read(key: string, cb: Cb, timeWindow: number, max: number): void;
  child(routeOptions: unknown): Store;
}
type StoreCtor = new (...args: unknown[]) => Store;
const RedisStore = require("@fastify/rate-limit/store/RedisStore.js") as StoreCtor;
const LocalStore = require("@fastify/rate-limit/store/LocalStore.js") as StoreCtor;

/** Tracks whether Redis is usable and says so once per outage, not once per request. */
export class RedisHealth {
  private down = false;
  private readonly recovered: (() => void)[] = [];

  constructor(
    private readonly redis: Redis,
    private readonly log: Logger,
  ) {
    redis.on("ready", () => {
      if (!this.down) return;
      this.down = false;
      log.info("redis is back: rate limits are shared by every replica again");
      for (const fn of this.recovered) fn();
    });
  }

  /** Runs fn each time Redis is back after an outage this process noticed. */
  onRecovered(fn: () => void): void {
    this.recovered.push(fn);
  }

  get usable(): boolean {
    return this.redis.status === "ready";
  }

  failed(err: unknown): void {
    if (this.down) return;
    this.down = true;
    this.log.warn({ err: (err as Error)?.message ?? String(err) }, "redis unavailable: rate limits fall back to this process's memory until it is back");
  }
}

class FallbackStore implements Store {
  constructor(
    private readonly shared: Store,
    private readonly local: Store,
    private readonly health: RedisHealth,
  ) {}

  private pick(op: "incr" | "read", key: string, cb: Cb, timeWindow: number, max: number): void {
    if (!this.health.usable) {
      this.health.failed(new Error("redis not connected"));
      return this.local[op](key, cb, timeWindow, max);
    }
    this.shared[op](key, (err, res) => {
      if (!err) return cb(null, res);
      this.health.failed(err);
      this.local[op](key, cb, timeWindow, max);
    }, timeWindow, max);
  }

  incr(key: string, cb: Cb, timeWindow: number, max: number): void {
    this.pick("incr", key, cb, timeWindow, max);
  }

  read(key: string, cb: Cb, timeWindow: number, max: number): void {
    this.pick("read", key, cb, timeWindow, max);
  }

  child(routeOptions: unknown): Store {
    return new FallbackStore(this.shared.child(routeOptions), this.local.child(routeOptions), this.health);
  }
}

/** The `store` option of @fastify/rate-limit: a class it instantiates with its global params. */
export function fallbackStore(redis: Redis, nameSpace: string, health: RedisHealth): FastifyRateLimitStoreCtor {
  return class {
    constructor(params: { continueExceeding?: boolean; exponentialBackoff?: boolean }) {
      const shared = new RedisStore(params.continueExceeding, params.exponentialBackoff, redis, nameSpace);
      const local = new LocalStore(params.continueExceeding, params.exponentialBackoff, 10_000);
      return new FallbackStore(shared, local, health);
    }
  } as unknown as FastifyRateLimitStoreCtor;
}

import { Redis } from "ioredis";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import { AppError, type Logger } from "@sker/kit";

/**
 * The per-user budget of AI submissions (RATE_LIMIT_AI_PER_USER per RATE_LIMIT_WINDOW_MS).
 * Counted here, in the store's CreateTask and CreateRun, because every door to AI work passes
 * them (REST, the WebSocket, a direct gRPC call to the broker): a count in the gateway let the
 * broker's own port skip it. Keyed by the user, so all of a user's tokens and API keys share it.
 *
 * In Redis so that every store replica shares it; while Redis is unreachable (or without
 * REDIS_URL) in this process's memory, so the limit keeps holding rather than opening up.
 */
export interface AiSubmissionLimit {
  /** Spends one submission of the user's budget; over it, throws RATE_LIMITED with details.retryAfter (s). */
  spend(userId: string): Promise<void>;
  /** Gives back a submission whose task was not created after all (bad input, a lost race). */
  refund(userId: string): Promise<void>;
  close(): Promise<void>;
}

export interface AiLimitOptions {
  perUser: number;
  windowMs: number;
  redisUrl: string | undefined;
  keyPrefix: string;
  log: Logger;
}

export function createAiSubmissionLimit(opts: AiLimitOptions): AiSubmissionLimit {
  // rate-limiter-flexible counts whole seconds; the window's minimum is 1 s.
  const duration = Math.max(1, Math.ceil(opts.windowMs / 1000));
  const memory = new RateLimiterMemory({ points: opts.perUser, duration, keyPrefix: "ai" });
  let redis: Redis | undefined;
  let limiter: RateLimiterAbstract = memory;
  if (opts.redisUrl) {
    // No offline queue and a short timeout: a dead Redis costs one quick failure, and while it is
    // known to be down (rejectIfRedisNotReady) not even that, before the memory counter answers.
    redis = new Redis(opts.redisUrl, { connectTimeout: 500, commandTimeout: 500, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    let down = false;
    redis.on("error", (err: Error) => {
      if (down) return;
      down = true;
      opts.log.warn({ err: err.message }, "redis unavailable: AI submission limits count in this process's memory until it is back");
    });
    redis.on("ready", () => {
      if (down) opts.log.info("redis is back: AI submission limits are shared by every store replica again");
      down = false;
    });
    limiter = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: `${opts.keyPrefix}rl:ai`,
      points: opts.perUser,
      duration,
      rejectIfRedisNotReady: true,
      insuranceLimiter: memory,
    });
  }

  return {
    async spend(userId) {
      try {
        await limiter.consume(userId);
      } catch (res) {
        if (!(res instanceof RateLimiterRes)) throw res;
        const retryAfter = Math.max(1, Math.ceil(res.msBeforeNext / 1000));
        throw new AppError("RATE_LIMITED", `AI submission limit of ${opts.perUser} per ${duration}s reached, retry in ${retryAfter}s`, {
          retryAfter,
          limit: opts.perUser,
        });
      }
    },
    async refund(userId) {
      await limiter.reward(userId).catch(() => undefined);
    },
    async close() {
      redis?.disconnect();
    },
  };
}

import fp from "fastify-plugin";
import rateLimit from "@fastify/rate-limit";
import type { FastifyReply, FastifyRequest } from "fastify";
import { AppError } from "@sker/kit";
import type { GatewayDeps } from "../types.js";
import { fallbackStore, RedisHealth } from "./fallback-store.js";

// The gateway's budgets (docs/api.md), counted in Redis so every replica shares them (in memory
// without REDIS_URL, and in this process's memory while Redis is unreachable: see
// fallback-store.ts): per user on every authenticated route, per IP on /auth, and the
// WebSocket's. AI submissions are counted by the store, which every door to them passes
// (RATE_LIMITED from there becomes 429 in errors.ts). @fastify/rate-limit keeps the counters; we pick the key and answer 429 ourselves
// so the body is the error envelope and Retry-After is always set.

export type LimitKind = "user" | "authIp" | "badAuth" | "resetEmail" | "subscribe";

declare module "fastify" {
  interface FastifyInstance {
    limits: {
      /** onRequest/preHandler hooks. */
      user: (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
      authIp: (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
      /** Password-reset requests per target email (the per-IP budget is /auth's); throws RATE_LIMITED when over. */
      resetEmail: (email: string, reply: FastifyReply) => Promise<void>;
      /** For callers without an HTTP request (the WebSocket): throws RATE_LIMITED when over. */
      check: (kind: LimitKind, key: string) => Promise<{ retryAfter: number } | undefined>;
      /**
       * A failed authentication spends the client IP's bad-credentials budget (its own, so that
       * garbage tokens from one address behind a shared proxy cannot lock everyone out of /auth);
       * past it this throws RATE_LIMITED, and the IP's API keys stay unchecked on this replica
       * until the window ends.
       */
      authFailed: (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
      /** Throws RATE_LIMITED while the client IP is blocked for failed authentications. */
      assertNotBlocked: (req: FastifyRequest, reply: FastifyReply) => void;
    };
  }
}

type Shim = { rateKey: string; routeOptions: { config: Record<string, unknown> } };

export const rateLimitPlugin = fp<{ deps: GatewayDeps }>(
  async (app, { deps }) => {
    const { windowMs, perUser, authPerIp, badAuthPerIp, resetPerEmail, wsSubscribePerUser } = deps.config.rateLimits;
    await app.register(rateLimit, {
      global: false,
      timeWindow: windowMs,
      ...(deps.redis ? { store: fallbackStore(deps.redis, `${deps.config.redisKeyPrefix}rl:`, new RedisHealth(deps.redis, deps.log)) } : {}),
      keyGenerator: (req) => (req as unknown as Shim).rateKey,
    });

    const limiters: Record<LimitKind, ReturnType<typeof app.createRateLimit>> = {
      user: app.createRateLimit({ max: perUser, timeWindow: windowMs, keyGenerator: (req) => (req as unknown as Shim).rateKey }),
      authIp: app.createRateLimit({ max: authPerIp, timeWindow: windowMs, keyGenerator: (req) => (req as unknown as Shim).rateKey }),
      badAuth: app.createRateLimit({ max: badAuthPerIp, timeWindow: windowMs, keyGenerator: (req) => (req as unknown as Shim).rateKey }),
      resetEmail: app.createRateLimit({ max: resetPerEmail, timeWindow: windowMs, keyGenerator: (req) => (req as unknown as Shim).rateKey }),
      subscribe: app.createRateLimit({ max: wsSubscribePerUser, timeWindow: windowMs, keyGenerator: (req) => (req as unknown as Shim).rateKey }),
    };

    const check = async (kind: LimitKind, key: string) => {
      const shim: Shim = { rateKey: `${kind}:${key}`, routeOptions: { config: {} } };
      const res = await limiters[kind](shim as unknown as FastifyRequest);
      if (res.isAllowed || !res.isExceeded) return undefined;
      return { retryAfter: Math.max(1, res.ttlInSeconds) };
    };

    const tooMany = (reply: FastifyReply, retryAfter: number) => {
      reply.header("retry-after", String(retryAfter));
      return new AppError("RATE_LIMITED", `rate limit exceeded, retry in ${retryAfter}s`, { retryAfter });
    };

    const hook = (kind: LimitKind, keyOf: (req: FastifyRequest) => string) => async (req: FastifyRequest, reply: FastifyReply) => {
      const over = await check(kind, keyOf(req));
      if (over) throw tooMany(reply, over.retryAfter);
    };

    // Per replica: lets an IP over its budget be refused before its credentials cost a store call.
    const blocked = new Map<string, number>();
    const MAX_BLOCKED = 10_000;
    const authFailed = async (req: FastifyRequest, reply: FastifyReply) => {
      const over = await check("badAuth", req.ip);
      if (!over) return;
      if (blocked.size >= MAX_BLOCKED) blocked.delete(blocked.keys().next().value!);
      blocked.set(req.ip, Date.now() + over.retryAfter * 1000);
      throw tooMany(reply, over.retryAfter);
    };
    const assertNotBlocked = (req: FastifyRequest, reply: FastifyReply) => {
      const until = blocked.get(req.ip);
      if (until === undefined) return;
      const left = until - Date.now();
      if (left <= 0) return void blocked.delete(req.ip);
      throw tooMany(reply, Math.max(1, Math.ceil(left / 1000)));
    };

    // One budget per user, whichever of their tokens or API keys a request carries.
    const principal = (req: FastifyRequest) => `user:${req.user?.userId ?? req.ip}`;
    app.decorate("limits", {
      user: hook("user", principal),
      authIp: hook("authIp", (req) => req.ip),
      resetEmail: async (email: string, reply: FastifyReply) => {
        const over = await check("resetEmail", email.trim().toLowerCase());
        if (over) throw tooMany(reply, over.retryAfter);
      },
      check,
      authFailed,
      assertNotBlocked,
    });
  },
  { name: "sker-rate-limit" },
);

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
    const health = deps.redis ? new RedisHealth(deps.redis, deps.log) : undefined;
    await app.register(rateLimit, {
      global: false,
      timeWindow: windowMs,
      ...(deps.redis && health ? { store: fallbackStore(deps.redis, `${deps.config.redisKeyPrefix}rl:`, health) } : {}),
      keyGenerator: (req) => (req as unknown as Shim).rateKey,
    });

    const limiters: Record<LimitKind, ReturnType<typeof app.createRateLimit>> = {
      user: app.createRateLimit({ max: perUser, timeWindow: windowMs, keyGenerator: (req) => (req as unknown as Shim).rateKey }),
      authIp: app.createRateLimit({ max: authPerIp, timeWindow: windowMs, keyGenerator: (req) => (req as unknown as Shim).rateKey }),
      badAuth: app.createRateLimit({ max: badAuthPerIp, timeWindow: windowMs, keyGenerator: (req) => (req as unknown as Shim).rateKey }),
      resetEmail: app.createRateLimit({ max: resetPerEmail, timeWindow: windowMs, keyGenerator: (req) => (req as unknown as Shim).rateKey }),
      subscribe: app.createRateLimit({ max: wsSubscribePerUser, timeWindow: windowMs, keyGenerator: (req) => (req as unknown as Shim).rateKey }),
    };

    // Per replica: a key found over its budget is refused from memory until its window ends, so
    // a client hammering past a limit costs no Redis round trip per request (nor a store call
    // for its API keys: see assertNotBlocked). The window's end is Redis's (or the fallback
    // store's) own TTL, so a replica lets the key in again exactly when the counter would. What
    // was learned from this process's counters during a Redis outage is forgotten when Redis is
    // back: the shared counters govern again.
    const over = new Map<string, number>();
    const MAX_OVER = 10_000;
    health?.onRecovered(() => over.clear());
    const overFor = (id: string): number | undefined => {
      const until = over.get(id);
      if (until === undefined) return undefined;
      const left = until - Date.now();
      if (left > 0) return Math.max(1, Math.ceil(left / 1000));
      over.delete(id);
      return undefined;
    };

    const check = async (kind: LimitKind, key: string) => {
      const id = `${kind}:${key}`;
      const known = overFor(id);
      if (known !== undefined) return { retryAfter: known };
      const shim: Shim = { rateKey: id, routeOptions: { config: {} } };
      const res = await limiters[kind](shim as unknown as FastifyRequest);
      if (res.isAllowed || !res.isExceeded) return undefined;
      if (over.size >= MAX_OVER) over.delete(over.keys().next().value!);
      over.set(id, Date.now() + Math.max(1000, res.ttl));
      return { retryAfter: Math.max(1, res.ttlInSeconds) };
    };

    const tooMany = (reply: FastifyReply, retryAfter: number) => {
      reply.header("retry-after", String(retryAfter));
      return new AppError("RATE_LIMITED", `rate limit exceeded, retry in ${retryAfter}s`, { retryAfter });
    };

    const hook = (kind: LimitKind, keyOf: (req: FastifyRequest) => string) => async (req: FastifyRequest, reply: FastifyReply) => {
      const limited = await check(kind, keyOf(req));
      if (limited) throw tooMany(reply, limited.retryAfter);
    };

    const authFailed = async (req: FastifyRequest, reply: FastifyReply) => {
      const limited = await check("badAuth", req.ip);
      if (limited) throw tooMany(reply, limited.retryAfter);
    };
    // Lets an IP over its bad-credentials budget be refused before its credentials cost a store call.
    const assertNotBlocked = (req: FastifyRequest, reply: FastifyReply) => {
      const retryAfter = overFor(`badAuth:${req.ip}`);
      if (retryAfter !== undefined) throw tooMany(reply, retryAfter);
    };

    // One budget per user, whichever of their tokens or API keys a request carries.
    const principal = (req: FastifyRequest) => `user:${req.user?.userId ?? req.ip}`;
    app.decorate("limits", {
      user: hook("user", principal),
      authIp: hook("authIp", (req) => req.ip),
      resetEmail: async (email: string, reply: FastifyReply) => {
        const limited = await check("resetEmail", email.trim().toLowerCase());
        if (limited) throw tooMany(reply, limited.retryAfter);
      },
      check,
      authFailed,
      assertNotBlocked,
    });
  },
  { name: "sker-rate-limit" },
);

import fp from "fastify-plugin";
import helmet from "helmet";
import cors from "@fastify/cors";
import type { GatewayDeps } from "../types.js";

/** Security headers, and CORS for the origins in CORS_ORIGINS only (none when unset). */
export const securityPlugin = fp<{ deps: GatewayDeps }>(
  async (app, { deps }) => {
    // helmet's middleware built once: @fastify/helmet 13 builds it again on every request
    // (parsing the CSP each time, a tenth of a cached read's CPU) for per-route options we do not use.
    const headers = helmet({
      // Swagger UI at /api/docs runs inline scripts; the JSON API needs no CSP exceptions.
      contentSecurityPolicy: {
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'", "'unsafe-inline'"],
          styleSrc: ["'self'", "'unsafe-inline'"],
          imgSrc: ["'self'", "data:", "validator.swagger.io"],
        },
      },
    });
    app.addHook("onRequest", (req, reply, done) => headers(req.raw, reply.raw, (err?: unknown) => done(err as Error | undefined)));
    const allowed = new Set(deps.config.corsOrigins);
    await app.register(cors, {
      origin: (origin, cb) => cb(null, origin !== undefined && (allowed.has("*") || allowed.has(origin))),
      methods: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
      allowedHeaders: ["authorization", "content-type", "x-api-key", "x-request-id", "if-match", "idempotency-key"],
      exposedHeaders: ["x-request-id", "etag", "retry-after", "x-ratelimit-limit", "x-ratelimit-remaining"],
      maxAge: 600,
    });
  },
  { name: "sker-security" },
);

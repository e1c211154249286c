import type { Redis } from "ioredis";
import type { EventBus, Logger, Metrics, Tokens } from "@sker/kit";
import type { Clients } from "./clients.js";
import type { GatewayConfig } from "./config.js";

/** Everything the app is built from; start.ts wires the real ones, tests may wire their own. */
export interface GatewayDeps {
  config: GatewayConfig;
  clients: Clients;
  tokens: Tokens;
  metrics: Metrics;
  log: Logger;
  /** Shared rate-limit budget across replicas; undefined → in-memory (one process only). */
  redis: Redis | undefined;
  bus: EventBus;
  /** Set when shutdown begins: /ready answers 503 from then on. */
  state: { draining: boolean; startedAt: number };
}

/** The end user a request acts for. */
export interface RequestUser {
  userId: string;
  email: string;
  username: string;
  /** How they proved it. */
  via: "jwt" | "api-key";
  apiKeyId?: string;
  /** The access token's id (jti), to close the sockets of a logged-out token. */
  tokenId?: string;
}

declare module "fastify" {
  interface FastifyRequest {
    user: RequestUser | null;
    /** The bearer token forwarded to the store and broker, which verify it again. */
    userToken: string;
  }
}

declare module "fastify" {
  interface FastifyInstance {
    deps: GatewayDeps;
  }
}

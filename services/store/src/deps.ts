import type { Kysely } from "kysely";
import type { Logger, Tokens } from "@sker/kit";
import type { Database } from "./db/schema.js";

/**
 * What every store handler gets. `cache` is Redis or in-memory (cache-aside, never fails a
 * request); `afterCommit` pokes the outbox relay so committed events go out at once.
 */
export interface StoreDeps {
  db: Kysely<Database>;
  cache: Cache;
  tokens: Tokens;
  log: Logger;
  afterCommit(): void;
  config: {
    accessTokenTtlSeconds: number;
    refreshTokenTtlSeconds: number;
    /** Lifetime of the access token VerifyApiKey mints (default 300). */
    apiKeyTokenTtlSeconds?: number;
    /** scrypt N for new password hashes (default 2^15). */
    scryptCost?: number;
    /** SKER_ADMIN_EMAILS, lower-cased: who may read system usage and set user budgets. */
    adminEmails?: string[];
    /** AI_USER_MONTHLY_BUDGET_USD. */
    userMonthlyBudgetUsd?: number;
  };
}

/** Cache-aside store; implementations swallow their own outages (a miss, never an error). */
export interface Cache {
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown, ttlSeconds: number): Promise<void>;
  del(...keys: string[]): Promise<void>;
  close(): Promise<void>;
}

import type { Kysely } from "kysely";
import type { AccountRevoked, Logger, Tokens } from "@sker/kit";
import type { Quotas } from "@sker/contracts/limits";
import type { Database } from "./db/schema.js";
import type { DenyList } from "./users/deny-list.js";
import type { AiSubmissionLimit } from "./limits/ai-submissions.js";

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
  /** Logged-out access-token ids. */
  denyList: DenyList;
  /** Announces on the bus that tokens stopped working (gateways close the sockets); never throws. */
  notifyRevoked(event: AccountRevoked): Promise<void>;
  /** Pokes the mail relay after a commit that queued mail. */
  afterMail(): void;
  /** Each user's budget of AI submissions (CreateTask, CreateRun). */
  aiLimit: AiSubmissionLimit;
  config: {
    /** Connections in the database pool (DB_POOL_SIZE); the task pipeline may hold half (tasks/pipeline-gate.ts). */
    dbPoolSize?: number;
    accessTokenTtlSeconds: number;
    refreshTokenTtlSeconds: number;
    /** Lifetime of the access token VerifyApiKey mints (default 300). */
    apiKeyTokenTtlSeconds?: number;
    /** scrypt N for new password hashes (default 2^17). */
    scryptCost?: number;
    quotas: Quotas;
    /** Emails that become admins once the mailbox is verified (SKER_ADMIN_EMAILS). */
    adminEmails?: string[];
    /** The first account of an empty database becomes admin (embedded installs). */
    firstUserIsAdmin?: boolean;
    /** Base of the links in mail (PUBLIC_URL). */
    publicUrl?: string;
    invitationTtlSeconds?: number;
    /** AI_USER_MONTHLY_BUDGET_USD. */
    userMonthlyBudgetUsd?: number;
  };
}

/** Cache-aside store; implementations swallow their own outages (a miss, never an error). */
export interface Cache {
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown, ttlSeconds: number): Promise<void>;
  del(...keys: string[]): Promise<void>;
  /**
   * Two entries in one round trip: `key`, and when it holds an object, the entry named by
   * `next.prefix + value[next.field] + next.suffix` (a node, then the caller's role in its project).
   */
  getThen<A, B>(key: string, next: { field: string; prefix: string; suffix: string }): Promise<[A | undefined, B | undefined]>;
  close(): Promise<void>;
}

import { commonConfig, ConfigError, envReader, type CommonConfig } from "@sker/kit";
import { QUOTA_DEFAULTS as Q, type Quotas } from "@sker/contracts/limits";

export interface StoreConfig {
  common: CommonConfig;
  port: number;
  host: string;
  metricsPort: number;
  /** Unset → embedded PGlite in SKER_DATA_DIR. */
  databaseUrl: string | undefined;
  dbPoolSize: number;
  /** Unset → in-memory cache (one process only). */
  redisUrl: string | undefined;
  redisKeyPrefix: string;
  /** Unset → in-process bus (all-in-one mode). */
  rabbitmqUrl: string | undefined;
  eventsExchange: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  apiKeyTokenTtlSeconds: number;
  /** scrypt cost N (a power of two); 2^17 (OWASP's minimum) and up in production, lower only for tests and development. */
  scryptCost: number;
  /** SMTP server (smtp:// or smtps://); unset → mail is written to the log in development. */
  smtpUrl: string | undefined;
  mailFrom: string;
  /** Base URL of the links in mail (invitations, password reset, email verification). */
  publicUrl: string;
  invitationTtlSeconds: number;
  mailPollMs: number;
  /** How often the outbox relay looks for events it was not poked about (other replicas, outages). */
  outboxPollMs: number;
  quotas: Quotas;
  /** Days kept: events (the activity history and replay), finished tasks. */
  retention: { eventsDays: number; tasksDays: number; intervalMs: number };
  /** Each user's monthly AI budget in USD unless an admin set another; unset: none. */
  userMonthlyBudgetUsd: number | undefined;
  /** AI submissions (tasks and graph runs) per user per window, whichever door they enter by. */
  aiRateLimit: { perUser: number; windowMs: number };
}

function usd(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || !Number.isFinite(n)) throw new ConfigError(name, `must be an amount in USD (e.g. 25 or 12.50), got "${raw}"`);
  return n;
}

/** scrypt N=2^17, r=8, p=1: OWASP's current minimum for password storage. */
export const OWASP_SCRYPT_N = 1 << 17;

/** Read and validated once at start; a bad variable throws a ConfigError naming it. */
export function loadStoreConfig(env: Record<string, string | undefined> = process.env): StoreConfig {
  const e = envReader(env);
  const scryptCost = e.int("SCRYPT_COST", OWASP_SCRYPT_N, { min: 1 << 10, max: 1 << 20 });
  if ((scryptCost & (scryptCost - 1)) !== 0) throw new ConfigError("SCRYPT_COST", `must be a power of two, got ${scryptCost}`);
  const common = commonConfig(env);
  if (common.production && scryptCost < OWASP_SCRYPT_N) throw new ConfigError("SCRYPT_COST", `must be at least ${OWASP_SCRYPT_N} when NODE_ENV=production (a lower cost is a test knob)`);
  const databaseUrl = e.url("DATABASE_URL", ["postgres", "postgresql"]);
  // PGlite is one session in WASM on the event loop: for trying SKER out, not for production.
  if (common.production && !databaseUrl) throw new ConfigError("DATABASE_URL", "is required when NODE_ENV=production (the embedded PGlite is for development)");
  return {
    common,
    port: e.int("STORE_PORT", 3001, { max: 65535 }),
    // Loopback unless told: the store trusts its callers' tokens, so only the gateway and
    // broker should reach it (a cluster sets 0.0.0.0 behind NetworkPolicies).
    host: e.str("STORE_HOST", "127.0.0.1"),
    metricsPort: e.int("METRICS_PORT", 9464, { max: 65535 }),
    databaseUrl,
    dbPoolSize: e.int("DB_POOL_SIZE", 10, { min: 1, max: 200 }),
    redisUrl: e.url("REDIS_URL", ["redis", "rediss"]),
    redisKeyPrefix: e.str("REDIS_KEY_PREFIX", "sker:"),
    rabbitmqUrl: e.url("RABBITMQ_URL", ["amqp", "amqps"]),
    eventsExchange: e.str("SKER_EVENTS_EXCHANGE", "sker.events"),
    accessTokenTtlSeconds: e.int("ACCESS_TOKEN_TTL_SECONDS", 900, { min: 10, max: 86_400 }),
    refreshTokenTtlSeconds: e.int("REFRESH_TOKEN_TTL_SECONDS", 30 * 86_400, { min: 60, max: 365 * 86_400 }),
    apiKeyTokenTtlSeconds: e.int("API_KEY_TOKEN_TTL_SECONDS", 300, { min: 10, max: 3_600 }),
    scryptCost,
    smtpUrl: e.url("SMTP_URL", ["smtp", "smtps"]),
    mailFrom: e.str("MAIL_FROM", "SKER <no-reply@localhost>"),
    publicUrl: (e.url("PUBLIC_URL", ["http", "https"]) ?? "http://localhost:3000").replace(/\/+$/, ""),
    invitationTtlSeconds: e.int("INVITATION_TTL_SECONDS", 7 * 86_400, { min: 60, max: 90 * 86_400 }),
    mailPollMs: e.int("MAIL_POLL_MS", 1_000, { min: 10, max: 60_000 }),
    outboxPollMs: e.int("OUTBOX_POLL_MS", 1_000, { min: 10, max: 60_000 }),
    quotas: {
      projectsPerUser: e.int("QUOTA_PROJECTS_PER_USER", Q.projectsPerUser, { min: 1, max: 1_000_000 }),
      nodesPerProject: e.int("QUOTA_NODES_PER_PROJECT", Q.nodesPerProject, { min: 1, max: 10_000_000 }),
      bytesPerProject: e.int("QUOTA_BYTES_PER_PROJECT", Q.bytesPerProject, { min: 1, max: Number.MAX_SAFE_INTEGER }),
      apiKeysPerUser: e.int("QUOTA_API_KEYS_PER_USER", Q.apiKeysPerUser, { min: 1, max: 100_000 }),
    },
    retention: {
      eventsDays: e.int("RETENTION_EVENTS_DAYS", 365, { min: 1, max: 100 * 365 }),
      tasksDays: e.int("RETENTION_TASKS_DAYS", 90, { min: 1, max: 100 * 365 }),
      intervalMs: e.int("RETENTION_INTERVAL_MS", 3_600_000, { min: 1_000, max: 7 * 86_400_000 }),
    },
    userMonthlyBudgetUsd: usd("AI_USER_MONTHLY_BUDGET_USD", e.optional("AI_USER_MONTHLY_BUDGET_USD")),
    aiRateLimit: {
      perUser: e.int("RATE_LIMIT_AI_PER_USER", 60, { min: 1 }),
      // The gateway's window setting too: one window for every rate limit of a deployment.
      windowMs: e.int("RATE_LIMIT_WINDOW_MS", 60_000, { min: 1000, max: 3_600_000 }),
    },
  };
}

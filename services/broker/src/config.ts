import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import { commonConfig, ConfigError, envReader, type CommonConfig } from "@sker/kit";
import { loadModels, type LoadedModels } from "./models/load.js";

export interface BrokerConfig extends CommonConfig {
  port: number;
  host: string;
  storeAddr: string;
  metricsPort: number;
  deadlineMs: number;
  /** Unset → the in-process queue and bus (all-in-one mode). */
  rabbitmqUrl: string | undefined;
  queuePrefix: string;
  eventsExchange: string;
  concurrency: number;
  /** CreateTask calls a broker makes at once; more submissions wait their turn (admission.ts). */
  submitConcurrency: number;
  /** Running tasks at once per project and per user, over all brokers (0: no cap). */
  maxRunningPerProject: number;
  maxRunningPerUser: number;
  /** How long a task over a cap waits before it is offered again (others' tasks go first). */
  deferMs: number;
  /** false: an API-only replica (submit/cancel/stats) that runs no workers and no reaper. */
  workers: boolean;
  /** Names this process in task leases; unique per process. */
  workerId: string;
  leaseMs: number;
  taskTimeoutMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  reaperIntervalMs: number;
  /** How often the dispatch relay looks for task messages to publish besides being poked. */
  dispatchPollMs: number;
  /** Dead letters older than this many days are dropped (hourly). */
  deadLetterDays: number;
  /** Queued tasks not started for this long are published again by the reaper. */
  reclaimQueuedAfterMs: number;
  /** How much upstream context a prompt may carry, in (approximate) tokens. */
  contextTokens: number;
  /** Delay per streamed token of the local provider. */
  localTokenDelayMs: number;
  /** Providers and models (AI_MODELS_FILE, or the built-in default from AI_PROVIDER and friends). */
  models: LoadedModels;

}

export function loadBrokerConfig(env: Record<string, string | undefined> = process.env): BrokerConfig {
  const e = envReader(env);
  const common = commonConfig(env);
  const taskTimeoutMs = e.int("AI_TASK_TIMEOUT", 600_000, { min: 10 });
  const leaseMs = e.int("BROKER_LEASE_MS", 30_000, { min: 500, max: 3_600_000 });
  const retryBaseMs = e.int("BROKER_RETRY_BASE_MS", 1_000, { min: 10, max: 600_000 });
  const retryMaxMs = e.int("BROKER_RETRY_MAX_MS", 60_000, { min: 10, max: 3_600_000 });
  if (retryMaxMs < retryBaseMs) throw new ConfigError("BROKER_RETRY_MAX_MS", `must be at least BROKER_RETRY_BASE_MS (${retryBaseMs})`);
  // A task waiting out a retry delay is queued; the reaper must not take it for lost first.
  const reclaimQueuedAfterMs = e.int("BROKER_RECLAIM_QUEUED_AFTER_MS", 2 * retryMaxMs, { min: 100 });
  if (reclaimQueuedAfterMs <= retryMaxMs)
    throw new ConfigError("BROKER_RECLAIM_QUEUED_AFTER_MS", `must be more than BROKER_RETRY_MAX_MS (${retryMaxMs})`);
  return {
    ...common,
    port: e.int("BROKER_PORT", 3002, { max: 65_535 }),
    // Loopback unless told, like the store: a cluster sets 0.0.0.0 behind NetworkPolicies.
    host: e.str("BROKER_HOST", "127.0.0.1"),
    storeAddr: e.str("STORE_ADDR", "127.0.0.1:3001"),
    metricsPort: e.int("METRICS_PORT", 9465, { max: 65_535 }),
    deadlineMs: e.int("GRPC_DEADLINE_MS", 5_000, { min: 1 }),
    rabbitmqUrl: e.url("RABBITMQ_URL", ["amqp", "amqps"]),
    queuePrefix: e.str("SKER_QUEUE_PREFIX", "sker"),
    eventsExchange: e.str("SKER_EVENTS_EXCHANGE", "sker.events"),
    // LLM calls are I/O: hundreds in flight per process stay smooth (docs/toolchain.md); the caps
    // below keep one tenant from taking them all.
    concurrency: e.int("BROKER_CONCURRENCY", 512, { min: 1, max: 2_000 }),
    // A few at a time keep the store's pool free for the starts and completions of running tasks.
    submitConcurrency: e.int("BROKER_SUBMIT_CONCURRENCY", 8, { min: 1, max: 1_000 }),
    maxRunningPerProject: e.int("BROKER_MAX_RUNNING_PER_PROJECT", 64, { min: 0, max: 100_000 }),
    maxRunningPerUser: e.int("BROKER_MAX_RUNNING_PER_USER", 32, { min: 0, max: 100_000 }),
    deferMs: e.int("BROKER_DEFER_MS", 1_000, { min: 10, max: 600_000 }),
    workers: e.bool("BROKER_WORKERS", true),
    // Unique per process whatever is set: StartTask hands a running task back to its own worker id.
    workerId: `${e.str("BROKER_WORKER_ID", hostname())}-${process.pid}-${randomBytes(3).toString("hex")}`,
    leaseMs,
    taskTimeoutMs,
    maxAttempts: e.int("AI_TASK_MAX_ATTEMPTS", 3, { min: 1, max: 100 }),
    retryBaseMs,
    retryMaxMs,
    reaperIntervalMs: e.int("BROKER_REAPER_INTERVAL_MS", 10_000, { min: 50 }),
    dispatchPollMs: e.int("BROKER_DISPATCH_POLL_MS", 1_000, { min: 20, max: 600_000 }),
    deadLetterDays: e.int("RETENTION_DEAD_LETTERS_DAYS", 30, { min: 1, max: 100 * 365 }),
    reclaimQueuedAfterMs,
    contextTokens: e.int("AI_CONTEXT_TOKENS", 8_000, { min: 100 }),
    localTokenDelayMs: e.int("LOCAL_AI_TOKEN_DELAY_MS", 20, { max: 60_000 }),
    models: loadModels(env, { timeoutMs: taskTimeoutMs }),
  };
}

import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "./config-error.js";
import { loadDotEnv, resolveSeedAliases } from "./env.js";

/**
 * The largest message a call may carry either way (grpc-js refuses over 4 MiB on receive by
 * default). Everything that can grow with a project (graphs, pages, replays, task context) is
 * streamed, paged by bytes or cut to a budget well under this, so hitting it is a bug, not a
 * limit users meet.
 */
export const GRPC_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

export { ConfigError };

type Env = Record<string, string | undefined>;

// One way to read the environment: each service declares its config once with these
// readers and parses it at start; a bad or missing variable throws a ConfigError naming it.
// The process's own environment is completed from .env first (never overridden by it), and
// the seed's variable names are read as aliases of ours (env.ts).
export function envReader(given: Env = process.env) {
  if (given === process.env) loadDotEnv(given);
  const env = resolveSeedAliases(given);
  const raw = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === "" ? undefined : v.trim();
  };
  return {
    str(name: string, fallback?: string): string {
      const v = raw(name) ?? fallback;
      if (v === undefined) throw new ConfigError(name, "is required");
      return v;
    },
    optional(name: string): string | undefined {
      return raw(name);
    },
    int(name: string, fallback: number, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}): number {
      const v = raw(name);
      if (v === undefined) return fallback;
      if (!/^-?\d+$/.test(v)) throw new ConfigError(name, `must be an integer, got "${v}"`);
      const n = Number(v);
      if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
      return n;
    },
    bool(name: string, fallback: boolean): boolean {
      const v = raw(name);
      if (v === undefined) return fallback;
      if (/^(1|true|yes|on)$/i.test(v)) return true;
      if (/^(0|false|no|off)$/i.test(v)) return false;
      throw new ConfigError(name, `must be true or false, got "${v}"`);
    },
    oneOf<T extends string>(name: string, choices: readonly T[], fallback: T): T {
      const v = raw(name) ?? fallback;
      if (!choices.includes(v as T)) throw new ConfigError(name, `must be one of ${choices.join(", ")}, got "${v}"`);
      return v as T;
    },
    url(name: string, protocols: string[]): string | undefined {
      const v = raw(name);
      if (v === undefined) return undefined;
      let u: URL;
      try {
        u = new URL(v);
      } catch {
        throw new ConfigError(name, "is not a valid URL");
      }
      if (!protocols.includes(u.protocol.replace(/:$/, "")))
        throw new ConfigError(name, `must use ${protocols.join(" or ")}, got ${u.protocol}`);
      return v;
    },
    list(name: string): string[] {
      return (raw(name) ?? "").split(",").map((s) => s.trim()).filter(Boolean);
    },
  };
}

export type EnvReader = ReturnType<typeof envReader>;

/** Settings every service shares: environment, logging, auth secret, shutdown bound. */
export interface CommonConfig {
  production: boolean;
  dataDir: string;
  logLevel: string;
  jwtSecret: string;
  jwtIssuer: string;
  jwtAudience: string;
  adminEmails: string[];
  shutdownTimeoutMs: number;
  /** How long health says NOT_SERVING before listeners close, so balancers stop sending first. */
  drainDelayMs: number;
  otlpEndpoint: string | undefined;
  /** Where a started process writes the ports it listens on (JSON), for scripts that start it on port 0. */
  portsFile: string | undefined;
  /** The largest gRPC message sent or received, on every client and server. */
  grpcMaxMessageBytes: number;
}

/** Without JWT_SECRET in development, every process sharing a data dir shares one random secret. */
function devSecret(dataDir: string): string {
  const file = join(dataDir, "jwt-secret");
  mkdirSync(dataDir, { recursive: true });
  try {
    writeFileSync(file, randomBytes(48).toString("base64url"), { flag: "wx", mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  return readFileSync(file, "utf8").trim();
}

export function commonConfig(env: Env = process.env): CommonConfig {
  const e = envReader(env);
  const production = e.optional("NODE_ENV") === "production";
  const dataDir = e.str("SKER_DATA_DIR", ".sker");
  const given = e.optional("JWT_SECRET");
  if (given === undefined && production) throw new ConfigError("JWT_SECRET", "is required when NODE_ENV=production");
  // Placeholders, and the fixed dev key k8s/secrets.yaml ships for local clusters.
  if (production && /change|secret|example|default|dev-cluster-only/i.test(given!))
    throw new ConfigError("JWT_SECRET", "looks like a placeholder; set a random secret in production");
  const jwtSecret = given ?? devSecret(dataDir);
  if (jwtSecret.length < 32) throw new ConfigError("JWT_SECRET", "must be at least 32 characters");
  return {
    production,
    dataDir,
    logLevel: e.oneOf("LOG_LEVEL", ["trace", "debug", "info", "warn", "error", "fatal", "silent"], "info"),
    jwtSecret,
    jwtIssuer: e.str("JWT_ISSUER", "sker"),
    jwtAudience: e.str("JWT_AUDIENCE", "sker-api"),
    adminEmails: e.list("SKER_ADMIN_EMAILS").map((s) => s.toLowerCase()),
    shutdownTimeoutMs: e.int("SHUTDOWN_TIMEOUT_MS", 10_000, { min: 0, max: 600_000 }),
    drainDelayMs: e.int("SHUTDOWN_DRAIN_DELAY_MS", 500, { min: 0, max: 60_000 }),
    otlpEndpoint: e.url("OTEL_EXPORTER_OTLP_ENDPOINT", ["http", "https"]),
    portsFile: e.optional("SKER_PORTS_FILE"),
    grpcMaxMessageBytes: e.int("GRPC_MAX_MESSAGE_BYTES", GRPC_MAX_MESSAGE_BYTES, { min: 65_536, max: 256 * 1024 * 1024 }),
  };
}

/**
 * Writes the ports a process listens on to SKER_PORTS_FILE (when set), whole or not at all
 * (written aside, then renamed): `make up` and the fault suite start replicas on port 0 and
 * read the real ports here, so no port is picked free and bound later by someone else.
 */
export function announcePorts(file: string | undefined, ports: Record<string, number>): void {
  if (!file) return;
  writeFileSync(`${file}.tmp`, JSON.stringify(ports));
  renameSync(`${file}.tmp`, file);
}

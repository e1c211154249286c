import { existsSync, readFileSync } from "node:fs";
import { parseEnv } from "node:util";
import { ConfigError } from "./config-error.js";

// The environment as every service reads it: a `.env` file under the real environment (never
// over it), and the variable names of the SKER microservices setup (the seed) as aliases.

type Env = Record<string, string | undefined>;

const set = (env: Env, name: string) => env[name] !== undefined && env[name]!.trim() !== "";

const loaded = new Set<string>();

/**
 * Fills variables missing from `env` from the .env file (SKER_ENV_FILE, default ./.env), once per
 * file. A variable already in the environment wins, even when empty. Answers the names it set.
 */
export function loadDotEnv(env: Env = process.env): string[] {
  const path = env.SKER_ENV_FILE?.trim() || ".env";
  if (loaded.has(path)) return [];
  if (!existsSync(path)) {
    if (env.SKER_ENV_FILE) throw new ConfigError("SKER_ENV_FILE", `names ${path}, which does not exist`);
    return [];
  }
  loaded.add(path);
  const fromFile = parseEnv(readFileSync(path, "utf8")) as Record<string, string>;
  const added = Object.keys(fromFile).filter((k) => !(k in env));
  for (const k of added) env[k] = fromFile[k];
  return added;
}

const PG = ["PG_HOST", "PG_PORT", "PG_DATABASE", "PG_USER", "PG_PASSWORD"] as const;

function databaseUrlFromSeed(env: Env): string {
  const u = new URL("postgres://localhost");
  u.hostname = env.PG_HOST?.trim() || "localhost";
  u.port = env.PG_PORT?.trim() || "5432";
  u.username = encodeURIComponent(env.PG_USER?.trim() || "postgres");
  u.password = encodeURIComponent(env.PG_PASSWORD ?? "");
  u.pathname = `/${encodeURIComponent(env.PG_DATABASE?.trim() || "sker")}`;
  return u.href;
}

/** Each PG_* given, compared with the same part of DATABASE_URL; the first that differs. */
function pgDisagreement(env: Env): string | undefined {
  let u: URL;
  try {
    u = new URL(env.DATABASE_URL!.trim());
  } catch {
    return undefined; // DATABASE_URL's own reader reports it as not a URL
  }
  const parts: Record<(typeof PG)[number], string> = {
    PG_HOST: u.hostname,
    PG_PORT: u.port || "5432",
    PG_DATABASE: decodeURIComponent(u.pathname.slice(1)),
    PG_USER: decodeURIComponent(u.username),
    PG_PASSWORD: decodeURIComponent(u.password),
  };
  const differs = PG.find((k) => set(env, k) && (k === "PG_PASSWORD" ? env[k] : env[k]!.trim()) !== parts[k]);
  if (!differs) return undefined;
  // Never echo a password into a log line.
  if (differs === "PG_PASSWORD") return "PG_PASSWORD differs from DATABASE_URL's password";
  return `${differs} is "${env[differs]!.trim()}" but DATABASE_URL says "${parts[differs]}"`;
}

function redisUrlFromSeed(env: Env): string {
  return `redis://${env.REDIS_HOST?.trim() || "localhost"}:${env.REDIS_PORT?.trim() || "6379"}`;
}

/** STORE_SERVICE_URL was an HTTP base URL (http://store:3001); STORE_ADDR is a gRPC target. */
function storeAddrFromSeed(value: string): string {
  const v = value.trim();
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) return v;
  try {
    const u = new URL(v);
    return `${u.hostname}:${u.port || (u.protocol === "https:" ? "443" : "80")}`;
  } catch {
    throw new ConfigError("STORE_SERVICE_URL", "is not a valid URL");
  }
}

/**
 * A copy of `env` with the seed's names mapped onto ours: PG_* → DATABASE_URL, REDIS_HOST and
 * REDIS_PORT → REDIS_URL, STORE_SERVICE_URL → STORE_ADDR. When both forms are set they must
 * agree, or this throws naming the variables: a deployment should not guess which one it meant.
 */
export function resolveSeedAliases(env: Env): Env {
  const out: Env = { ...env };
  if (PG.some((k) => set(env, k))) {
    if (!set(env, "DATABASE_URL")) out.DATABASE_URL = databaseUrlFromSeed(env);
    else {
      const problem = pgDisagreement(env);
      if (problem) throw new ConfigError("DATABASE_URL", `disagrees with the seed's PG_* variables: ${problem}; set one form`);
    }
  }
  if (set(env, "REDIS_HOST") || set(env, "REDIS_PORT")) {
    const seed = redisUrlFromSeed(env);
    if (!set(env, "REDIS_URL")) out.REDIS_URL = seed;
    else {
      let u: URL | undefined;
      try {
        u = new URL(env.REDIS_URL!.trim());
      } catch {
        u = undefined;
      }
      const host = env.REDIS_HOST?.trim();
      const port = env.REDIS_PORT?.trim();
      if (u && ((host && host !== u.hostname) || (port && port !== (u.port || "6379"))))
        throw new ConfigError("REDIS_URL", `is ${u.hostname}:${u.port || "6379"} but REDIS_HOST/REDIS_PORT say ${host ?? u.hostname}:${port ?? (u.port || "6379")}; set one form`);
    }
  }
  if (set(env, "STORE_SERVICE_URL")) {
    const seed = storeAddrFromSeed(env.STORE_SERVICE_URL!);
    if (!set(env, "STORE_ADDR")) out.STORE_ADDR = seed;
    else if (env.STORE_ADDR!.trim() !== seed)
      throw new ConfigError("STORE_ADDR", `is "${env.STORE_ADDR!.trim()}" but STORE_SERVICE_URL says "${seed}"; set one form`);
  }
  return out;
}

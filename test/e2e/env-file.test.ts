import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { commonConfig } from "@sker/kit";
import { loadStoreConfig } from "@sker/store";
import { loadBrokerConfig } from "@sker/broker";
import { loadGatewayConfig } from "@sker/gateway";

// A .env file completes the environment (never overrides it), the SKER microservices setup's
// variable names work as aliases, and disagreeing forms stop start-up naming the variables.

const ROOT = resolve(import.meta.dirname, "../..");
const SECRET = "x".repeat(40);

/** Runs the built store's config loader in a fresh process, in `cwd`, with exactly `env`. */
function storeConfigIn(cwd: string, env: Record<string, string>) {
  const script = `import { loadStoreConfig } from ${JSON.stringify(join(ROOT, "services/store/dist/config.js"))};
    try { const c = loadStoreConfig(); console.log(JSON.stringify({ port: c.port, databaseUrl: c.databaseUrl, logLevel: c.common.logLevel })); }
    catch (e) { console.log(JSON.stringify({ error: e.message })); }`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd, env: { PATH: process.env.PATH ?? "", SKER_DATA_DIR: cwd, ...env }, encoding: "utf8" });
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

describe(".env file", () => {
  it("fills settings the environment lacks and never overrides the environment", () => {
    const dir = mkdtempSync(join(tmpdir(), "sker-dotenv-"));
    writeFileSync(join(dir, ".env"), "# seed style\nSTORE_PORT=4011\nLOG_LEVEL=debug\nPG_HOST=db.internal\nPG_PASSWORD='p@ss word'\n");
    expect(storeConfigIn(dir, { LOG_LEVEL: "warn" })).toEqual({
      port: 4011,
      logLevel: "warn",
      databaseUrl: "postgres://postgres:p%40ss%20word@db.internal:5432/sker",
    });
  });

  it("is read from SKER_ENV_FILE when set (the seed's .env.microservices), and a missing one is an error", () => {
    const dir = mkdtempSync(join(tmpdir(), "sker-dotenv-"));
    writeFileSync(join(dir, ".env.microservices"), "STORE_PORT=4012\n");
    expect(storeConfigIn(dir, { SKER_ENV_FILE: ".env.microservices" }).port).toBe(4012);
    expect(storeConfigIn(dir, { SKER_ENV_FILE: "nope.env" }).error).toMatch(/SKER_ENV_FILE names nope.env, which does not exist/);
  });

  it("is optional: without one, the defaults apply", () => {
    expect(storeConfigIn(mkdtempSync(join(tmpdir(), "sker-dotenv-")), {})).toEqual({ port: 3001, logLevel: "info" });
  });
});

describe("the seed's variable names", () => {
  it("build DATABASE_URL from PG_HOST, PG_PORT, PG_DATABASE, PG_USER and PG_PASSWORD", () => {
    const c = loadStoreConfig({ JWT_SECRET: SECRET, PG_HOST: "postgres", PG_PORT: "6432", PG_DATABASE: "canvas", PG_USER: "sker", PG_PASSWORD: "pw" });
    expect(c.databaseUrl).toBe("postgres://sker:pw@postgres:6432/canvas");
  });

  it("build REDIS_URL from REDIS_HOST and REDIS_PORT, for the store and the gateway", () => {
    expect(loadStoreConfig({ JWT_SECRET: SECRET, REDIS_HOST: "redis" }).redisUrl).toBe("redis://redis:6379");
    expect(loadGatewayConfig({ JWT_SECRET: SECRET, REDIS_HOST: "cache", REDIS_PORT: "6380" }).redisUrl).toBe("redis://cache:6380");
  });

  it("take STORE_SERVICE_URL (an HTTP URL in the seed) as STORE_ADDR", () => {
    expect(loadBrokerConfig({ JWT_SECRET: SECRET, STORE_SERVICE_URL: "http://store:3001" }).storeAddr).toBe("store:3001");
    expect(loadGatewayConfig({ JWT_SECRET: SECRET, STORE_SERVICE_URL: "http://store:3001" }).storeAddr).toBe("store:3001");
  });

  it("agreeing with ours is fine", () => {
    const c = loadStoreConfig({ JWT_SECRET: SECRET, DATABASE_URL: "postgres://postgres@db:5432/sker", PG_HOST: "db", REDIS_URL: "redis://r:6379", REDIS_HOST: "r" });
    expect([c.databaseUrl, c.redisUrl]).toEqual(["postgres://postgres@db:5432/sker", "redis://r:6379"]);
  });

  it("disagreeing with ours stops start-up naming both", () => {
    expect(() => loadStoreConfig({ JWT_SECRET: SECRET, DATABASE_URL: "postgres://postgres@db:5432/sker", PG_HOST: "other" })).toThrowError(
      /DATABASE_URL disagrees with the seed's PG_\* variables: PG_HOST is "other" but DATABASE_URL says "db"/,
    );
    expect(() => loadStoreConfig({ JWT_SECRET: SECRET, DATABASE_URL: "postgres://u:secret1@db/sker", PG_PASSWORD: "secret2" })).toThrowError(
      /PG_PASSWORD differs from DATABASE_URL's password/,
    );
    expect(() => loadGatewayConfig({ JWT_SECRET: SECRET, REDIS_URL: "redis://r:6379", REDIS_PORT: "6380" })).toThrowError(/REDIS_URL is r:6379 but REDIS_HOST\/REDIS_PORT say r:6380/);
    expect(() => loadBrokerConfig({ JWT_SECRET: SECRET, STORE_ADDR: "store:3001", STORE_SERVICE_URL: "http://store:4001" })).toThrowError(
      /STORE_ADDR is "store:3001" but STORE_SERVICE_URL says "store:4001"/,
    );
  });
});

describe("production check", () => {
  it("refuses the dev JWT secret that k8s/secrets.yaml ships", () => {
    const docs = readFileSync(join(ROOT, "k8s/secrets.yaml"), "utf8").split(/^---$/m).map((d) => parse(d));
    const devSecret = docs.find((d) => d.metadata.name === "sker-secrets").stringData.JWT_SECRET;
    expect(devSecret.length).toBeGreaterThanOrEqual(32);
    expect(() => commonConfig({ NODE_ENV: "production", JWT_SECRET: devSecret })).toThrowError(/JWT_SECRET looks like a placeholder/);
    expect(commonConfig({ NODE_ENV: "development", JWT_SECRET: devSecret }).jwtSecret).toBe(devSecret);
  });
});

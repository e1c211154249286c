import { describe, expect, it } from "vitest";
import { commonConfig, ConfigError, envReader } from "@sker/kit";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

describe("config", () => {
  it("names the variable when a number is malformed", () => {
    expect(() => envReader({ STORE_PORT: "abc" }).int("STORE_PORT", 3001)).toThrowError(/STORE_PORT must be an integer/);
  });

  it("refuses production without a JWT secret", () => {
    expect(() => commonConfig({ NODE_ENV: "production" })).toThrowError(ConfigError);
    expect(() => commonConfig({ NODE_ENV: "production" })).toThrowError(/JWT_SECRET/);
  });

  it("refuses a placeholder secret in production", () => {
    expect(() => commonConfig({ NODE_ENV: "production", JWT_SECRET: "please-change-me-please-change-me-0000" })).toThrowError(/JWT_SECRET/);
  });

  it("shares one generated dev secret per data dir", () => {
    const dir = mkdtempSync(join(tmpdir(), "sker-cfg-"));
    const a = commonConfig({ SKER_DATA_DIR: dir });
    const b = commonConfig({ SKER_DATA_DIR: dir });
    expect(a.jwtSecret.length).toBeGreaterThanOrEqual(32);
    expect(b.jwtSecret).toBe(a.jwtSecret);
    expect(readFileSync(join(dir, "jwt-secret"), "utf8").trim()).toBe(a.jwtSecret);
  });

  it("rejects an unknown log level, naming LOG_LEVEL", () => {
    expect(() => commonConfig({ LOG_LEVEL: "loud", JWT_SECRET: "x".repeat(40) })).toThrowError(/LOG_LEVEL/);
  });
});

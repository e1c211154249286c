import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, channelPool, promiseClient, Tokens } from "@sker/kit";
import { UserServiceService } from "@sker/contracts/store/v1/user";
import { loadStoreConfig } from "../src/config.js";
import { startStore } from "../src/start.js";

describe("store config", () => {
  const base = { JWT_SECRET: "x".repeat(40), SKER_DATA_DIR: tmpdir() };
  it("names the variable that is wrong", () => {
    const bad: [string, string][] = [
      ["STORE_PORT", "eighty"],
      ["DATABASE_URL", "mysql://x"],
      ["REDIS_URL", "http://x"],
      ["RABBITMQ_URL", "nope"],
      ["SCRYPT_COST", "1000"],
      ["ACCESS_TOKEN_TTL_SECONDS", "1"],
    ];
    for (const [name, value] of bad) {
      let err: unknown;
      try {
        loadStoreConfig({ ...base, [name]: value });
      } catch (e) {
        err = e;
      }
      expect(err, name).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).variable).toBe(name);
    }
  });
  it("refuses the embedded database in production, naming DATABASE_URL", () => {
    expect(() => loadStoreConfig({ ...base, NODE_ENV: "production", JWT_SECRET: "Zq8".repeat(15) })).toThrowError(/DATABASE_URL/);
    expect(loadStoreConfig({ ...base, NODE_ENV: "production", JWT_SECRET: "Zq8".repeat(15), DATABASE_URL: "postgres://db/sker" }).databaseUrl).toBe("postgres://db/sker");
  });
  it("defaults to the embedded mode", () => {
    const c = loadStoreConfig(base);
    expect(c).toMatchObject({ port: 3001, metricsPort: 9464, databaseUrl: undefined, redisUrl: undefined, rabbitmqUrl: undefined, eventsExchange: "sker.events", redisKeyPrefix: "sker:" });
  });
});

describe("embedded store (PGlite in SKER_DATA_DIR, in-memory cache and bus)", () => {
  // Two PGlite starts and every migration: seconds when idle, near a minute on a loaded machine.
  it("starts on a fresh data dir, migrates, serves, shuts down, and reopens with the data kept", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sker-embedded-"));
    const env = { SKER_DATA_DIR: dir, STORE_PORT: "0", METRICS_PORT: "0", STORE_HOST: "127.0.0.1", LOG_LEVEL: "silent", SCRYPT_COST: "1024" };
    try {
      const config = loadStoreConfig(env);
      const register = async (port: number, name: string) => {
        const pool = channelPool(`127.0.0.1:${port}`, 1);
        try {
          const users = promiseClient(UserServiceService, pool, { deadlineMs: 10_000 });
          const token = await new Tokens(config.common).service("gateway");
          return await users.register({ email: `${name}@example.test`, username: name, password: "long enough", displayName: "" }, { token });
        } finally {
          pool.close();
        }
      };
      const first = await startStore(config);
      await register(first.port, "first");
      const metrics = await fetch(`http://127.0.0.1:${first.metricsPort}/metrics`).then((r) => r.text());
      expect(metrics).toContain("grpc_server_handling_seconds");
      await first.shutdown();
      const second = await startStore(loadStoreConfig(env));
      try {
        await expect(register(second.port, "first")).rejects.toMatchObject({ code: "CONFLICT" });
      } finally {
        await second.shutdown();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});

// TRUST_PROXY takes what Fastify's trustProxy takes: true/false, a hop count, or addresses/CIDRs.
import { describe, expect, it } from "vitest";
import { loadGatewayConfig } from "../src/config.js";

const env = { JWT_SECRET: "config-test-secret-0123456789abcdef0123" };
const trust = (v: string | undefined) => loadGatewayConfig({ ...env, TRUST_PROXY: v }).trustProxy;

describe("TRUST_PROXY", () => {
  it("is off by default", () => {
    expect(trust(undefined)).toBe(false);
    expect(trust("")).toBe(false);
  });

  it("takes true/false, a hop count, or a comma-separated list of addresses and CIDRs", () => {
    expect(trust("true")).toBe(true);
    expect(trust("false")).toBe(false);
    expect(trust("0")).toBe(false);
    expect(trust("1")).toBe(1);
    expect(trust("2")).toBe(2);
    expect(trust("10.0.0.0/8")).toEqual(["10.0.0.0/8"]);
    expect(trust(" 10.0.0.0/8, 192.168.1.7 ,fd00::/8,loopback")).toEqual(["10.0.0.0/8", "192.168.1.7", "fd00::/8", "loopback"]);
  });

  it("refuses anything else, naming the variable", () => {
    for (const bad of ["maybe", "-1", "10.0.0.0/33", "10.0.0.300", "fd00::/129", "10.0.0.0/8,,", "ingress"])
      expect(() => trust(bad), bad).toThrow(/TRUST_PROXY/);
  });
});

describe("READ_CACHE*", () => {
  const cache = (over: Record<string, string>) => loadGatewayConfig({ ...env, ...over }).readCache;

  it("is on by default with bounded sizes and short TTLs; READ_CACHE=off turns it off", () => {
    expect(cache({})).toEqual({ enabled: true, maxEntries: 10_000, maxBytes: 64 * 1024 * 1024, ttlMs: 30_000, accessTtlMs: 5_000, maxProjects: 1_000 });
    expect(cache({ READ_CACHE: "off" }).enabled).toBe(false);
    expect(cache({ READ_CACHE_MAX_ENTRIES: "50", READ_CACHE_ACCESS_TTL_MS: "1000" })).toMatchObject({ maxEntries: 50, accessTtlMs: 1000 });
  });

  it("refuses a bad value, naming the variable", () => {
    for (const [name, bad] of [["READ_CACHE", "maybe"], ["READ_CACHE_MAX_ENTRIES", "0"], ["READ_CACHE_MAX_BYTES", "10"], ["READ_CACHE_TTL_MS", "abc"], ["READ_CACHE_ACCESS_TTL_MS", "-5"], ["READ_CACHE_MAX_PROJECTS", "1.5"]])
      expect(() => cache({ [name]: bad }), `${name}=${bad}`).toThrow(name);
  });
});

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

// values.yaml and every charts/sker/ci/ file, merged as helm merges them, satisfy
// values.schema.json; bad values are rejected with the offending path named.
import Ajv from "ajv";
import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { describe, expect, it } from "vitest";
import { QUOTA_DEFAULTS } from "@sker/contracts/limits";
import { loadStoreConfig } from "@sker/store";
import { CHART, chartValues, ciFiles, coalesce, readYaml, valuesWith, type Obj } from "./lib.js";

const schema = JSON.parse(readFileSync(join(CHART, "values.schema.json"), "utf8"));
const validate = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true }).compile(schema);

function problems(values: Obj): string[] {
  return validate(values) ? [] : validate.errors!.map((e) => `${e.instancePath || "/"} ${e.message} ${JSON.stringify(e.params)}`);
}
const withChange = (change: Obj) => coalesce(chartValues(), change);

describe("values.schema.json", () => {
  it("accepts the chart's values.yaml", () => {
    expect(problems(chartValues())).toEqual([]);
  });

  it("has ci/ files to check", () => {
    expect(ciFiles().map((f) => basename(f))).toEqual(
      expect.arrayContaining(["default-values.yaml", "dev-values.yaml", "production-values.yaml", "secret-values.yaml"]),
    );
  });

  for (const file of ciFiles()) {
    it(`accepts ci/${basename(file)}`, () => {
      expect(problems(valuesWith(file))).toEqual([]);
    });
  }

  it("rejects the bad values file, naming every bad path", () => {
    const errs = problems(valuesWith(join(CHART, "../../test/chart/fixtures/bad-values.yaml")));
    const text = errs.join("\n");
    expect(text).toMatch(/\/config\/logLevel must be equal to one of the allowed values/);
    expect(text).toMatch(/\/services\/store\/replicas must be integer/);
    expect(text).toMatch(/\/services\/gateway must NOT have additional properties.*"replica"/);
    expect(text).toMatch(/\/image\/pullPolicy must be equal to one of the allowed values/);
    expect(text).toMatch(/\/services\/broker\/probes\/liveness must NOT have additional properties.*"grpcc"/);
    expect(text).toMatch(/\/secret\/data\/DATABASE_URL must match pattern/);
  });

  it("rejects an unknown top-level key (a typo is not silently ignored)", () => {
    expect(problems(withChange({ ingres: { enabled: true } })).join()).toMatch(/additional properties.*ingres/);
  });

  it("rejects an AI provider it does not know", () => {
    expect(problems(withChange({ config: { ai: { provider: "gpt" } } })).join()).toMatch(/\/config\/ai\/provider/);
  });

  it("takes config.trustProxy as Fastify's trustProxy does, as a string, and rejects anything else", () => {
    for (const ok of ["false", "true", "1", "2", "10.0.0.0/8", "10.0.0.0/8, 192.168.0.1,fd00::/8", "loopback,uniquelocal"])
      expect(problems(withChange({ config: { trustProxy: ok } })), ok).toEqual([]);
    for (const bad of [true, 1, "", "yes please", "10.0.0.0/8;rm", "10.0.0.0/8,"])
      expect(problems(withChange({ config: { trustProxy: bad } })).join(), String(bad)).toMatch(/\/config\/trustProxy/);
  });

  it("rejects a port out of range and a port without a name", () => {
    const bad = withChange({ services: { store: { ports: [{ name: "grpc", port: 70000, appProtocol: "kubernetes.io/h2c" }, { port: 1, appProtocol: "http" }] } } });
    const text = problems(bad).join("\n");
    expect(text).toMatch(/\/services\/store\/ports\/0\/port must be <= 65535/);
    expect(text).toMatch(/\/services\/store\/ports\/1 must have required property 'name'/);
  });

  it("rejects a short JWT secret and a non-string env value", () => {
    const text = problems(withChange({ secret: { create: true, data: { JWT_SECRET: "short" } }, services: { broker: { env: { BROKER_CONCURRENCY: 8 } } } })).join("\n");
    expect(text).toMatch(/\/secret\/data\/JWT_SECRET must NOT have fewer than 32 characters/);
    expect(text).toMatch(/\/services\/broker\/env\/BROKER_CONCURRENCY must be string/);
  });

  it("rejects a quota that is not a positive whole number", () => {
    for (const bad of ["0", "-5", "lots", "1e6"]) {
      const text = problems(withChange({ services: { store: { env: { QUOTA_NODES_PER_PROJECT: bad } } } })).join("\n");
      expect(text, bad).toMatch(/\/services\/store\/env\/QUOTA_NODES_PER_PROJECT must match pattern/);
    }
    expect(problems(withChange({ services: { store: { env: { QUOTA_NODES_PER_PROJECT: "20000" } } } }))).toEqual([]);
  });

  it("rejects an AI submission limit that is not a positive whole number", () => {
    const text = problems(withChange({ services: { store: { env: { RATE_LIMIT_AI_PER_USER: "0" } } } })).join("\n");
    expect(text).toMatch(/\/services\/store\/env\/RATE_LIMIT_AI_PER_USER must match pattern/);
  });

  it("sets the store's quotas and AI submission limit to the store's own defaults", () => {
    const env = ((chartValues().services as Obj).store as Obj).env as Record<string, string>;
    const { quotas, aiRateLimit } = loadStoreConfig(env);
    expect(aiRateLimit).toEqual(loadStoreConfig({}).aiRateLimit);
    expect(env.RATE_LIMIT_AI_PER_USER).toBeDefined();
    expect(quotas).toEqual(QUOTA_DEFAULTS);
    expect(Object.keys(env).filter((k) => k.startsWith("QUOTA_"))).toHaveLength(Object.keys(QUOTA_DEFAULTS).length);
  });

  it("rejects a service name that cannot be a Kubernetes name", () => {
    expect(problems(withChange({ services: { Search_API: { enabled: true } } })).join()).toMatch(/property name must be valid|must match pattern/);
  });

  it("leaves defaults that keep the drain inside the grace period", () => {
    const v = chartValues();
    for (const [name, svc] of Object.entries(v.services as Obj)) {
      const c = coalesce(v.defaults, svc as Obj);
      const drain = c.preStopSleepSeconds + v.config.shutdownTimeoutMs / 1000;
      expect(c.terminationGracePeriodSeconds, name).toBeGreaterThan(drain);
      const live = c.probes.liveness;
      // A liveness probe that could fail while the pod drains must not be able to fail enough times to kill it first.
      expect(live.periodSeconds * live.failureThreshold, name).toBeGreaterThanOrEqual(c.terminationGracePeriodSeconds);
    }
  });
});

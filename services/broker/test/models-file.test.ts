import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadBrokerConfig } from "../src/config.js";
import { Catalog } from "../src/models/catalog.js";
import { Breaker } from "../src/models/breaker.js";
import { estimateCost } from "../src/models/estimate.js";

// The models file: read at start (YAML or JSON), every problem named by its entry, keys only
// from the env, and what /ai/models shows.

const dir = mkdtempSync(join(tmpdir(), "sker-models-"));
const secret = { JWT_SECRET: "x".repeat(40), SKER_DATA_DIR: dir };
let n = 0;
function file(text: string, ext = "yaml"): string {
  const path = join(dir, `models-${n++}.${ext}`);
  writeFileSync(path, text);
  return path;
}
const load = (text: string, env: Record<string, string> = {}, ext = "yaml") => loadBrokerConfig({ ...secret, AI_MODELS_FILE: file(text, ext), ...env });

const GOOD = `
default: smart
providers:
  openai: { type: openai, apiKeyEnv: TEST_OPENAI_KEY, retries: 1, timeoutMs: 30000 }
  anthropic: { type: anthropic, apiKeyEnv: TEST_ANTHROPIC_KEY }
  ollama: { type: openai, baseUrl: "http://127.0.0.1:11434/v1" }
  local: { type: local }
models:
  - { alias: smart, provider: openai, model: gpt-4o, contextWindow: 128000, price: { input: 2.5, output: 10 }, fallbacks: [claude, llama] }
  - { alias: claude, provider: anthropic, model: claude-3-5-haiku-latest, contextWindow: 200000, price: { input: 0.8, output: 4 } }
  - { alias: llama, provider: ollama, model: "llama3.1:8b", contextWindow: 8192 }
  - { alias: local, provider: local, model: local-deterministic-1, contextWindow: 8000 }
`;
const KEYS = { TEST_OPENAI_KEY: "sk-one", TEST_ANTHROPIC_KEY: "sk-ant-two" };

describe("models file", () => {
  it("reads providers, models, prices and fallbacks; keys come from the env variables it names", () => {
    const c = load(GOOD, KEYS).models;
    expect(c.defaultModel).toBe("smart");
    expect(c.keys.get("openai")).toBe("sk-one");
    expect(c.keys.get("anthropic")).toBe("sk-ant-two");
    expect(c.keys.has("ollama")).toBe(false);
    const catalog = new Catalog(c);
    expect(catalog.chain("smart").map((m) => m.alias)).toEqual(["smart", "claude", "llama"]);
    expect(catalog.contextWindowOf("llama")).toBe(8192);
    expect(catalog.contextWindowOf(undefined)).toBe(128000);
    expect(catalog.costOf("smart", { inputTokens: 1_000_000, outputTokens: 500_000 })).toBeCloseTo(2.5 + 5, 9);
    expect(catalog.provider("smart").retries).toBe(1);
    expect(catalog.provider("claude").timeoutMs).toBe(600_000); // AI_TASK_TIMEOUT's default
  });

  it("lists aliases, windows and prices for clients, never keys or URLs; local costs 0", () => {
    const list = new Catalog(load(GOOD, KEYS).models).list();
    expect(list.map((m) => m.alias)).toEqual(["smart", "claude", "llama", "local"]);
    expect(list.find((m) => m.alias === "local")).toMatchObject({ inputPricePerMillion: 0, outputPricePerMillion: 0, contextWindow: 8000 });
    expect(list.find((m) => m.alias === "smart")).toMatchObject({ default: true, inputPricePerMillion: 2.5, outputPricePerMillion: 10 });
    const text = JSON.stringify(list);
    for (const secretish of ["sk-one", "sk-ant-two", "11434", "http", "TEST_OPENAI_KEY"]) expect(text).not.toContain(secretish);
  });

  it("reads JSON as well", () => {
    const json = JSON.stringify({ providers: { local: { type: "local" } }, models: [{ alias: "fast", provider: "local", model: "m", contextWindow: 4096 }] });
    const c = load(json, {}, "json").models;
    expect(c.defaultModel).toBe("fast"); // no default: the first model
  });

  it.each([
    ["an unknown provider type", GOOD.replace("type: anthropic", "type: azure"), /providers\.anthropic\.type: must be one of/],
    ["a fallback that is not an alias", GOOD.replace("fallbacks: [claude, llama]", "fallbacks: [claude, gpt5]"), /models\[0\] \(smart\)\.fallbacks\[1\]: "gpt5" is not a model alias/],
    ["a model of a provider not in the file", GOOD.replace("provider: ollama", "provider: vllm"), /models\[2\] \(llama\)\.provider: must name a provider/],
    ["a missing context window", GOOD.replace(", contextWindow: 8192", ""), /models\[2\] \(llama\)\.contextWindow/],
    ["a negative price", GOOD.replace("input: 0.8", "input: -1"), /models\[1\] \(claude\)\.price\.input/],
    ["a price on the local provider", GOOD.replace("contextWindow: 8000 }", "contextWindow: 8000, price: { input: 1 } }"), /models\[3\] \(local\)\.price: the local provider costs nothing/],
    ["a duplicate alias", GOOD.replace("alias: llama", "alias: claude"), /models\[2\] \(claude\)\.alias: is used by an earlier model/],
    ["a bad base URL", GOOD.replace('"http://127.0.0.1:11434/v1"', "ftp://x"), /providers\.ollama\.baseUrl: must be an http\(s\) URL/],
    ["a key written into the file", GOOD.replace("apiKeyEnv: TEST_ANTHROPIC_KEY", "apiKey: sk-live"), /providers\.anthropic: unknown key "apiKey"/],
    ["an unknown default", GOOD.replace("default: smart", "default: best"), /default: must be a model alias/],
    ["a self fallback", GOOD.replace("fallbacks: [claude, llama]", "fallbacks: [smart]"), /fallbacks\[0\]: a model cannot fall back to itself/],
    ["broken YAML", "providers: [", /AI_MODELS_FILE is neither valid YAML nor JSON/],
  ])("refuses %s at start, naming the entry", (_what, text, message) => {
    expect(() => load(text, KEYS)).toThrow(/AI_MODELS_FILE/);
    expect(() => load(text, KEYS)).toThrow(message);
  });

  it("refuses a provider whose key variable is unset, naming the variable", () => {
    expect(() => load(GOOD, { TEST_OPENAI_KEY: "sk-one" })).toThrow(/TEST_ANTHROPIC_KEY is required by providers\.anthropic/);
  });

  it("refuses a file that cannot be read, naming the variable", () => {
    expect(() => loadBrokerConfig({ ...secret, AI_MODELS_FILE: join(dir, "nope.yaml") })).toThrow(/AI_MODELS_FILE cannot be read \(ENOENT\)/);
  });

  it("without a file, AI_PROVIDER and AI_MODEL keep working, beside local", () => {
    const c = loadBrokerConfig({ ...secret, AI_PROVIDER: "openai", OPENAI_API_KEY: "sk-x", OPENAI_BASE_URL: "http://127.0.0.1:9/v1", AI_MODEL: "gpt-4.1-mini" }).models;
    expect(c.defaultModel).toBe("gpt-4.1-mini");
    expect(c.providers.get("openai")).toMatchObject({ type: "openai", baseUrl: "http://127.0.0.1:9/v1", retries: 0 });
    expect(c.keys.get("openai")).toBe("sk-x");
    expect([...c.models.keys()]).toEqual(["gpt-4.1-mini", "local"]);
    expect(() => loadBrokerConfig({ ...secret, AI_PROVIDER: "anthropic" })).toThrow(/ANTHROPIC_API_KEY/);
  });

  it("reserves the dearest model of the chain at submission", () => {
    const catalog = new Catalog(load(GOOD, KEYS).models);
    const prompt = "x".repeat(4000); // 1,000 tokens
    // (1,000 prompt + 1,000 context allowance) in, 500 out, at smart's prices (the dearest).
    expect(estimateCost(catalog, "smart", prompt, 500)).toBeCloseTo((2000 * 2.5 + 500 * 10) / 1e6, 12);
    expect(estimateCost(catalog, "local", prompt, 500)).toBe(0);
  });
});

describe("circuit breaker", () => {
  it("opens after the failures in a row, lets one trial through after the cooldown, closes on success", () => {
    let now = 0;
    const seen: string[] = [];
    const b = new Breaker(3, 1000, (s) => seen.push(s), () => now);
    b.failure();
    b.failure();
    b.success(); // a success resets the streak
    b.failure();
    b.failure();
    expect(b.allow()).toBe(true);
    b.failure();
    expect(b.state).toBe("open");
    expect(b.allow()).toBe(false);
    now = 1000;
    expect(b.allow()).toBe(true); // the trial
    expect(b.allow()).toBe(false); // only one at a time
    b.failure();
    expect(b.state).toBe("open");
    now = 2000;
    expect(b.allow()).toBe(true);
    b.success();
    expect(b.state).toBe("closed");
    expect(seen).toEqual(["open", "half_open", "open", "half_open", "closed"]);
  });
});

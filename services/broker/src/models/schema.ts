import { LIMITS } from "@sker/contracts/limits";

// The models file (AI_MODELS_FILE, YAML or JSON): which providers exist and which models a task
// may name. Checked whole at start; every problem names its entry (`providers.openai.baseUrl`,
// `models[2] (smart).fallbacks[0]`), because a typo found at the first task is found too late.

export type ProviderType = "openai" | "anthropic" | "local";

export interface ProviderEntry {
  name: string;
  type: ProviderType;
  /** OpenAI-compatible servers (Ollama, vLLM, LM Studio…) and Anthropic proxies. */
  baseUrl?: string;
  /** The env variable holding the key; the key itself never lives in the file. */
  apiKeyEnv?: string;
  /** Calls retried on this provider (429, 5xx, timeout, dropped stream) before the next model. */
  retries: number;
  /** One call's time limit; the next model is tried after it. */
  timeoutMs: number;
  /** Consecutive transient failures that open the circuit, and how long it stays open. */
  breakerFailures: number;
  breakerCooldownMs: number;
}

export interface ModelEntry {
  alias: string;
  provider: string;
  /** The provider's own model id. */
  model: string;
  contextWindow: number;
  /** USD per million tokens. */
  inputPrice: number;
  outputPrice: number;
  /** Aliases tried in order when this model's provider fails past its retries. */
  fallbacks: string[];
}

export interface ModelsConfig {
  defaultModel: string;
  providers: Map<string, ProviderEntry>;
  models: Map<string, ModelEntry>;
}

export class ModelsFileError extends Error {}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
/** An alias travels as a task's options.model: as long as that may be. */
const ALIAS = new RegExp(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,${LIMITS.task.model - 1}}$`);
const TYPES: ProviderType[] = ["openai", "anthropic", "local"];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function fail(where: string, problem: string): never {
  throw new ModelsFileError(`${where}: ${problem}`);
}

function known(where: string, obj: Record<string, unknown>, keys: string[]): void {
  for (const k of Object.keys(obj)) if (!keys.includes(k)) fail(where, `unknown key "${k}" (expected ${keys.join(", ")})`);
}

function int(where: string, v: unknown, fallback: number, min: number, max: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) fail(where, `must be an integer between ${min} and ${max}`);
  return v;
}

function price(where: string, v: unknown): number {
  if (v === undefined) return 0;
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || v > 100_000) fail(where, "must be a number of USD per million tokens, 0 to 100000");
  return v;
}

export interface ProviderDefaults {
  timeoutMs: number;
}

function parseProvider(name: string, raw: unknown, d: ProviderDefaults): ProviderEntry {
  const where = `providers.${name}`;
  if (!NAME.test(name)) fail(where, "a provider name is 1-64 letters, digits, '.', '_', ':' or '-'");
  if (!isObject(raw)) fail(where, "must be an object");
  known(where, raw, ["type", "baseUrl", "apiKeyEnv", "retries", "timeoutMs", "breaker"]);
  const type = raw.type as ProviderType;
  if (!TYPES.includes(type)) fail(`${where}.type`, `must be one of ${TYPES.join(", ")}`);
  let baseUrl: string | undefined;
  if (raw.baseUrl !== undefined) {
    if (type === "local") fail(`${where}.baseUrl`, "the local provider has no URL");
    if (typeof raw.baseUrl !== "string" || !/^https?:\/\/[^\s]+$/.test(raw.baseUrl) || !URL.canParse(raw.baseUrl)) fail(`${where}.baseUrl`, "must be an http(s) URL");
    baseUrl = raw.baseUrl;
  }
  let apiKeyEnv: string | undefined;
  if (raw.apiKeyEnv !== undefined) {
    if (typeof raw.apiKeyEnv !== "string" || !/^[A-Z_][A-Z0-9_]*$/.test(raw.apiKeyEnv)) fail(`${where}.apiKeyEnv`, "must name an environment variable (A-Z, 0-9, _)");
    apiKeyEnv = raw.apiKeyEnv;
  }
  // A hosted API without a key is a typo; a local OpenAI-compatible server (baseUrl) needs none.
  if (type === "anthropic" && !apiKeyEnv) fail(`${where}.apiKeyEnv`, "is required for anthropic");
  if (type === "openai" && !apiKeyEnv && !baseUrl) fail(`${where}.apiKeyEnv`, "is required for openai without a baseUrl");
  const breaker = raw.breaker ?? {};
  if (!isObject(breaker)) fail(`${where}.breaker`, "must be an object");
  known(`${where}.breaker`, breaker, ["failures", "cooldownMs"]);
  return {
    name,
    type,
    baseUrl,
    apiKeyEnv,
    retries: int(`${where}.retries`, raw.retries, 0, 0, 10),
    timeoutMs: int(`${where}.timeoutMs`, raw.timeoutMs, d.timeoutMs, 10, 3_600_000),
    breakerFailures: int(`${where}.breaker.failures`, breaker.failures, 5, 1, 1_000),
    breakerCooldownMs: int(`${where}.breaker.cooldownMs`, breaker.cooldownMs, 30_000, 10, 3_600_000),
  };
}

function parseModel(i: number, raw: unknown, providers: Map<string, ProviderEntry>): ModelEntry {
  let where = `models[${i}]`;
  if (!isObject(raw)) fail(where, "must be an object");
  if (typeof raw.alias !== "string" || !ALIAS.test(raw.alias)) fail(`${where}.alias`, `is required: 1-${LIMITS.task.model} letters, digits, '.', '_', ':' or '-'`);
  where = `${where} (${raw.alias})`;
  known(where, raw, ["alias", "provider", "model", "contextWindow", "price", "fallbacks"]);
  if (typeof raw.provider !== "string" || !providers.has(raw.provider)) fail(`${where}.provider`, `must name a provider of this file (${[...providers.keys()].join(", ")})`);
  const provider = providers.get(raw.provider)!;
  if (typeof raw.model !== "string" || !raw.model.trim() || raw.model.length > 200) fail(`${where}.model`, "is required: the provider's model id");
  const p = raw.price ?? {};
  if (!isObject(p)) fail(`${where}.price`, "must be {input, output} in USD per million tokens");
  known(`${where}.price`, p, ["input", "output"]);
  const inputPrice = price(`${where}.price.input`, p.input);
  const outputPrice = price(`${where}.price.output`, p.output);
  // The built-in generator runs on this machine and spends nothing: a price there is a mistake.
  if (provider.type === "local" && (inputPrice > 0 || outputPrice > 0)) fail(`${where}.price`, "the local provider costs nothing; leave the price out or 0");
  const fallbacks = raw.fallbacks ?? [];
  if (!Array.isArray(fallbacks) || fallbacks.some((f) => typeof f !== "string")) fail(`${where}.fallbacks`, "must be a list of model aliases");
  return {
    alias: raw.alias,
    provider: raw.provider,
    model: raw.model,
    contextWindow: int(`${where}.contextWindow`, raw.contextWindow ?? -1, 0, 256, 100_000_000),
    inputPrice,
    outputPrice,
    fallbacks: fallbacks as string[],
  };
}

/** A parsed file (YAML or JSON object) → a checked config. Throws ModelsFileError naming the entry. */
export function checkModels(doc: unknown, d: ProviderDefaults): ModelsConfig {
  if (!isObject(doc)) fail("(file)", "must be an object with providers and models");
  known("(file)", doc, ["default", "providers", "models"]);
  if (!isObject(doc.providers) || Object.keys(doc.providers).length === 0) fail("providers", "must map at least one provider name to its settings");
  const providers = new Map<string, ProviderEntry>();
  for (const [name, raw] of Object.entries(doc.providers)) providers.set(name, parseProvider(name, raw, d));
  if (!Array.isArray(doc.models) || doc.models.length === 0) fail("models", "must list at least one model");
  const models = new Map<string, ModelEntry>();
  doc.models.forEach((raw, i) => {
    const m = parseModel(i, raw, providers);
    if (models.has(m.alias)) fail(`models[${i}] (${m.alias}).alias`, "is used by an earlier model");
    models.set(m.alias, m);
  });
  let i = 0;
  for (const m of models.values()) {
    m.fallbacks.forEach((f, j) => {
      const where = `models[${i}] (${m.alias}).fallbacks[${j}]`;
      if (!models.has(f)) fail(where, `"${f}" is not a model alias of this file`);
      if (f === m.alias) fail(where, "a model cannot fall back to itself");
    });
    if (new Set(m.fallbacks).size !== m.fallbacks.length) fail(`models[${i}] (${m.alias}).fallbacks`, "lists an alias twice");
    i++;
  }
  const defaultModel = doc.default ?? models.keys().next().value;
  if (typeof defaultModel !== "string" || !models.has(defaultModel)) fail("default", "must be a model alias of this file");
  return { defaultModel, providers, models };
}

import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { ConfigError, envReader } from "@sker/kit";
import { checkModels, ModelsFileError, type ModelsConfig } from "./schema.js";

type Env = Record<string, string | undefined>;

export interface LoadedModels extends ModelsConfig {
  /** Provider name → its key, read from the env variable the file names. */
  keys: Map<string, string>;
  /** Where the config came from: a file path, or "built-in" (AI_PROVIDER and friends). */
  source: string;
}

const LOCAL_MODEL = { alias: "local", provider: "local", model: "local-deterministic-1", contextWindow: 8_000 };

/**
 * Without AI_MODELS_FILE, today's settings keep working: AI_PROVIDER picks the default model
 * (named by AI_MODEL, or the provider's usual one), priced 0 since the env says nothing of
 * prices, with no fallbacks; `local` is always there too.
 */
function builtIn(env: Env): unknown {
  const e = envReader(env);
  const name = e.oneOf("AI_PROVIDER", ["local", "openai", "anthropic"] as const, "local");
  const providers: Record<string, unknown> = { local: { type: "local" } };
  const models: unknown[] = [LOCAL_MODEL];
  if (name === "openai") {
    if (!e.optional("OPENAI_API_KEY")) throw new ConfigError("OPENAI_API_KEY", "is required when AI_PROVIDER=openai");
    providers.openai = { type: "openai", apiKeyEnv: "OPENAI_API_KEY", ...(e.url("OPENAI_BASE_URL", ["http", "https"]) ? { baseUrl: e.optional("OPENAI_BASE_URL") } : {}) };
    const model = e.optional("AI_MODEL") ?? "gpt-4o-mini";
    models.unshift({ alias: model, provider: "openai", model, contextWindow: 128_000 });
  } else if (name === "anthropic") {
    if (!e.optional("ANTHROPIC_API_KEY")) throw new ConfigError("ANTHROPIC_API_KEY", "is required when AI_PROVIDER=anthropic");
    providers.anthropic = { type: "anthropic", apiKeyEnv: "ANTHROPIC_API_KEY", ...(e.url("ANTHROPIC_BASE_URL", ["http", "https"]) ? { baseUrl: e.optional("ANTHROPIC_BASE_URL") } : {}) };
    const model = e.optional("AI_MODEL") ?? "claude-3-5-haiku-latest";
    models.unshift({ alias: model, provider: "anthropic", model, contextWindow: 200_000 });
  }
  return { providers, models };
}

function readFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError("AI_MODELS_FILE", `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): ${path}`);
  }
  try {
    // YAML is a superset of JSON: one parser reads both.
    return parseYaml(text, { prettyErrors: false, uniqueKeys: true });
  } catch (err) {
    throw new ConfigError("AI_MODELS_FILE", `is neither valid YAML nor JSON: ${(err as Error).message.split("\n")[0]}`);
  }
}

export function loadModels(env: Env, defaults: { timeoutMs: number }): LoadedModels {
  const path = envReader(env).optional("AI_MODELS_FILE");
  let config: ModelsConfig;
  try {
    config = checkModels(path ? readFile(path) : builtIn(env), defaults);
  } catch (err) {
    if (err instanceof ModelsFileError) throw new ConfigError("AI_MODELS_FILE", `${path ?? "(built-in)"}: ${err.message}`);
    throw err;
  }
  const used = new Set([...config.models.values()].map((m) => m.provider));
  const keys = new Map<string, string>();
  for (const p of config.providers.values()) {
    if (!p.apiKeyEnv) continue;
    const key = env[p.apiKeyEnv]?.trim();
    if (key) keys.set(p.name, key);
    else if (used.has(p.name)) throw new ConfigError(p.apiKeyEnv, `is required by providers.${p.name} of AI_MODELS_FILE`);
  }
  return { ...config, keys, source: path ?? "built-in" };
}

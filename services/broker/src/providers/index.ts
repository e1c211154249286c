import type { BrokerConfig } from "../config.js";
import { anthropicProvider } from "./anthropic.js";
import { localProvider } from "./local.js";
import { openaiProvider } from "./openai.js";
import type { Provider } from "./types.js";

export type { Provider, ProviderRequest, ProviderResult, ContextItem, TaskKind } from "./types.js";
export { ProviderError } from "./errors.js";

export function createProvider(config: BrokerConfig): Provider {
  const p = config.provider;
  switch (p.name) {
    case "openai":
      return openaiProvider({ apiKey: p.openaiApiKey!, baseURL: p.openaiBaseUrl, model: p.model, timeoutMs: config.taskTimeoutMs });
    case "anthropic":
      return anthropicProvider({ apiKey: p.anthropicApiKey!, baseURL: p.anthropicBaseUrl, model: p.model, timeoutMs: config.taskTimeoutMs });
    default:
      return localProvider(p.localTokenDelayMs);
  }
}

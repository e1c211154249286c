import { anthropicProvider } from "../providers/anthropic.js";
import { localProvider } from "../providers/local.js";
import { openaiProvider } from "../providers/openai.js";
import type { Provider } from "../providers/types.js";
import type { BrokerMetrics } from "../metrics.js";
import { Breaker } from "./breaker.js";
import type { LoadedModels } from "./load.js";
import type { ProviderEntry } from "./schema.js";

export interface LiveProvider {
  entry: ProviderEntry;
  client: Provider;
  breaker: Breaker;
}

const STATE = { closed: 0, open: 1, half_open: 2 } as const;

/** One client and one circuit per provider of the models file. `override` replaces every client (tests, embedding). */
export function liveProviders(models: LoadedModels, localTokenDelayMs: number, metrics: BrokerMetrics, override?: Provider): Map<string, LiveProvider> {
  const out = new Map<string, LiveProvider>();
  for (const entry of models.providers.values()) {
    const apiKey = models.keys.get(entry.name) ?? "unused"; // local OpenAI-compatible servers ignore it
    const client =
      override ??
      (entry.type === "openai"
        ? openaiProvider({ apiKey, baseURL: entry.baseUrl, timeoutMs: entry.timeoutMs })
        : entry.type === "anthropic"
          ? anthropicProvider({ apiKey, baseURL: entry.baseUrl, timeoutMs: entry.timeoutMs })
          : localProvider(localTokenDelayMs));
    metrics.circuit.set({ provider: entry.name }, 0);
    const breaker = new Breaker(entry.breakerFailures, entry.breakerCooldownMs, (s) => metrics.circuit.set({ provider: entry.name }, STATE[s]));
    out.set(entry.name, { entry, client, breaker });
  }
  return out;
}

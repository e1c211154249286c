import { TOKENS } from "@sker/contracts/limits";
import type { LoadedModels } from "./load.js";
import type { ModelEntry, ProviderEntry } from "./schema.js";

export interface Usage {
  inputTokens: number;
  outputTokens: number;
}

/** What a task's model alias means: lookups over the checked models file. */
export class Catalog {
  private windows: Record<string, number> | undefined;

  constructor(readonly config: LoadedModels) {}

  get defaultModel(): string {
    return this.config.defaultModel;
  }

  /** Every alias of the models file. */
  aliases(): string[] {
    return [...this.config.models.keys()];
  }

  has(alias: string): boolean {
    return this.config.models.has(alias);
  }

  model(alias: string): ModelEntry {
    const m = this.config.models.get(alias);
    if (!m) throw new Error(`unknown model alias ${alias}`);
    return m;
  }

  provider(alias: string): ProviderEntry {
    return this.config.providers.get(this.model(alias).provider)!;
  }

  /** The alias itself, then its fallbacks in order (each once). */
  chain(alias: string): ModelEntry[] {
    const first = this.model(alias);
    return [first, ...first.fallbacks.map((f) => this.model(f))];
  }

  /** USD, at the prices of the running config (a config change never reprices the ledger). */
  costOf(alias: string, usage: Usage): number {
    const m = this.model(alias);
    return (usage.inputTokens * m.inputPrice + usage.outputTokens * m.outputPrice) / 1_000_000;
  }

  /** A model's context window in tokens; no alias (or an unknown one) answers the default model's. */
  contextWindowOf(alias: string | undefined): number {
    return this.model(alias && this.has(alias) ? alias : this.defaultModel).contextWindow;
  }

  /**
   * Per alias ("" for the default model), the context window in characters of the smallest
   * model of its fallback chain: the prompt must fit whichever of them ends up running it.
   */
  windowCharsByAlias(): Record<string, number> {
    if (this.windows) return this.windows;
    const out: Record<string, number> = {};
    for (const alias of this.config.models.keys()) {
      const tokens = Math.min(...this.chain(alias).map((m) => m.contextWindow));
      out[alias] = Math.min(tokens * TOKENS.charsPerToken, 2 ** 31 - 1);
    }
    out[""] = out[this.defaultModel];
    return (this.windows = out);
  }

  /**
   * Per alias ("" for the default model), the dearest input and output prices of its fallback
   * chain: what the store estimates a graph run's nodes at.
   */
  ratesByAlias(): Record<string, { inputPerMillion: number; outputPerMillion: number }> {
    const out: Record<string, { inputPerMillion: number; outputPerMillion: number }> = {};
    for (const alias of this.config.models.keys()) {
      const chain = this.chain(alias);
      out[alias] = { inputPerMillion: Math.max(...chain.map((m) => m.inputPrice)), outputPerMillion: Math.max(...chain.map((m) => m.outputPrice)) };
    }
    out[""] = out[this.defaultModel];
    return out;
  }

  /** What a client may choose: never keys or URLs. */
  list() {
    return [...this.config.models.values()].map((m) => ({
      alias: m.alias,
      provider: m.provider,
      contextWindow: m.contextWindow,
      inputPricePerMillion: m.inputPrice,
      outputPricePerMillion: m.outputPrice,
      fallbacks: m.fallbacks,
      default: m.alias === this.config.defaultModel,
    }));
  }
}

import { estimateUsd } from "@sker/contracts/estimate";
import type { Catalog } from "./catalog.js";

/**
 * What a task may cost, reserved against the budgets at submission (contracts' estimateUsd), at
 * the dearest model of its fallback chain. The ledger replaces the reservation when the task ends.
 */
export function estimateCost(catalog: Catalog, alias: string, prompt: string, maxTokens: number | undefined): number {
  return Math.max(...catalog.chain(alias).map((m) => estimateUsd(prompt.length, maxTokens, { inputPerMillion: m.inputPrice, outputPerMillion: m.outputPrice })));
}

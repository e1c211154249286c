import { estimateUsd, type Rate } from "@sker/contracts/estimate";
import type { StoredRecipe } from "../db/schema.js";

/**
 * What a planned node's task may cost, at the broker's rate for the recipe's model (an alias it
 * does not price: the default model's). The run holds the sum against the budgets from the start,
 * and each task holds its node's share once queued.
 */
export function nodeEstimate(recipe: StoredRecipe | null, rates: Record<string, Rate>): number {
  if (!recipe) return 0;
  const rate = rates[recipe.options?.model ?? ""] ?? rates[""];
  return rate ? estimateUsd(recipe.prompt?.length ?? 0, recipe.options?.maxTokens, rate) : 0;
}

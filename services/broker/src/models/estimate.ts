import { TOKENS } from "@sker/contracts/limits";
import { estimateTokens } from "../providers/prompt.js";
import type { Catalog } from "./catalog.js";

/** Input allowed for the upstream notes a prompt does not show at submission. */
const CONTEXT_ALLOWANCE_TOKENS = 1_000;

/**
 * What a task may cost, reserved against the budgets at submission: the prompt plus an
 * allowance for context in, maxTokens (1,024 unless set) out, at the dearest model of its
 * fallback chain. The ledger replaces the reservation when the task ends.
 */
export function estimateCost(catalog: Catalog, alias: string, prompt: string, maxTokens: number | undefined): number {
  const usage = { inputTokens: estimateTokens(prompt) + CONTEXT_ALLOWANCE_TOKENS, outputTokens: maxTokens ?? TOKENS.defaultMaxOutput };
  return Math.max(...catalog.chain(alias).map((m) => catalog.costOf(m.alias, usage)));
}

import { TOKENS } from "./limits.js";

/** Input allowed for the upstream notes a prompt does not show before the task starts. */
export const CONTEXT_ALLOWANCE_TOKENS = 1_000;

/** USD per million tokens. */
export interface Rate {
  inputPerMillion: number;
  outputPerMillion: number;
}

/**
 * What one AI task may cost, held against the monthly budgets until it ends: the prompt plus an
 * allowance for context in, maxTokens (1,024 unless set) out. The broker estimates a submitted
 * task with it, the store each node of a graph run (at the rates the broker sends), so both
 * hold the same amount for the same work.
 */
export function estimateUsd(promptChars: number, maxTokens: number | undefined, rate: Rate): number {
  const input = Math.ceil(promptChars / TOKENS.charsPerToken) + CONTEXT_ALLOWANCE_TOKENS;
  const output = maxTokens && maxTokens > 0 ? maxTokens : TOKENS.defaultMaxOutput;
  return (input * rate.inputPerMillion + output * rate.outputPerMillion) / 1_000_000;
}

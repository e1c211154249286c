import { AppError } from "@sker/kit";
import { ProviderError } from "../providers/index.js";

/** Why an attempt stopped early, carried as the abort reason. */
export class Stop extends Error {
  constructor(readonly why: "cancelled" | "timeout" | "lease-lost" | "shutdown") {
    super(`attempt stopped: ${why}`);
    this.name = "Stop";
  }
}

export interface Failure {
  code: string;
  message: string;
  transient: boolean;
  retryAfterMs?: number;
}

export function classify(err: unknown, timeoutMs: number): Failure {
  if (err instanceof Stop && err.why === "timeout")
    return { code: "AI_TIMEOUT", message: `the provider did not finish within AI_TASK_TIMEOUT (${timeoutMs} ms)`, transient: true };
  if (err instanceof ProviderError) return { code: err.code, message: err.message, transient: err.transient, retryAfterMs: err.retryAfterMs };
  if (err instanceof AppError) {
    const transient = err.code === "UNAVAILABLE" || err.code === "DEADLINE_EXCEEDED" || err.code === "INTERNAL";
    return { code: err.code, message: err.message, transient };
  }
  return { code: "INTERNAL", message: (err as Error)?.message ?? String(err), transient: true };
}

/**
 * Exponential backoff with jitter for attempt n (1-based): base·2^(n-1), drawn from its upper
 * half so retries spread out without collapsing to zero; never earlier than Retry-After.
 */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, retryAfterMs = 0, random = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  const jittered = exp / 2 + random() * (exp / 2);
  return Math.min(maxMs, Math.max(jittered, retryAfterMs));
}

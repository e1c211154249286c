// How a provider failure is retried: transient ones (rate limits, 5xx, timeouts, dropped
// connections) go back through the delay queues; permanent ones (bad request, bad key) fail at once.

export class ProviderError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly transient: boolean,
    /** From a Retry-After header: the earliest sensible retry. */
    readonly retryAfterMs?: number,
    readonly status?: number,
  ) {
    super(message);
    this.name = "ProviderError";
  }
}

/** Status → retry class, as OpenAI and Anthropic document them. */
export function fromHttpStatus(status: number, message: string, retryAfterMs?: number): ProviderError {
  if (status === 429) return new ProviderError("PROVIDER_RATE_LIMITED", message, true, retryAfterMs, status);
  if (status === 408 || status === 409 || status >= 500) return new ProviderError(`PROVIDER_HTTP_${status}`, message, true, retryAfterMs, status);
  return new ProviderError(`PROVIDER_HTTP_${status}`, message, false, undefined, status);
}

/** Retry-After (seconds or an HTTP date) or retry-after-ms → milliseconds. */
export function parseRetryAfter(headers: { get(name: string): string | null } | undefined): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get("retry-after-ms");
  if (ms && /^\d+(\.\d+)?$/.test(ms)) return Math.ceil(Number(ms));
  const v = headers.get("retry-after");
  if (!v) return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Math.ceil(Number(v) * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

import { setTimeout as sleep } from "node:timers/promises";
import type { BrokerMetrics } from "../metrics.js";
import type { Catalog } from "../models/catalog.js";
import type { LiveProvider } from "../models/providers.js";
import { ProviderError, type ProviderRequest, type ProviderResult } from "../providers/index.js";
import { estimateTokens, systemPrompt, userPrompt } from "../providers/prompt.js";
import { classify, Stop } from "./retry.js";
import type { ModelCall } from "@sker/contracts/store/v1/task";

export type { ModelCall };

export type Routed = { ok: true; result: ProviderResult; alias: string; calls: ModelCall[] } | { ok: false; error: unknown; calls: ModelCall[] };

export interface RouteDeps {
  catalog: Catalog;
  providers: Map<string, LiveProvider>;
  metrics: BrokerMetrics;
  /** Called with the alias of each model as its call begins (fallback resets the preview). */
  onModel?: (alias: string) => void;
}

const MAX_RETRY_WAIT_MS = 5_000;

/**
 * Runs the request on `alias`, retrying its provider `retries` times on transient failures
 * (429, 5xx, timeouts, a stream cut mid-answer), then each fallback in order. A permanent
 * failure (400, 401…) ends the chain at once: the next model would refuse the same request.
 * `signal` (cancel, lease lost, shutdown) ends it too.
 */
export async function route(deps: RouteDeps, alias: string, req: ProviderRequest, onDelta: (text: string) => void, signal: AbortSignal): Promise<Routed> {
  const { catalog, providers, metrics } = deps;
  const calls: ModelCall[] = [];
  const chain = catalog.chain(alias);
  // Made only when it is the answer: an Error captures a stack, and most calls succeed.
  let last: unknown;
  for (const [i, m] of chain.entries()) {
    const live = providers.get(m.provider)!;
    for (let attempt = 0; attempt <= live.entry.retries; attempt++) {
      if (!live.breaker.allow()) {
        calls.push({ alias: m.alias, provider: m.provider, model: m.model, inputTokens: 0, outputTokens: 0, costUsd: 0, outcome: "CIRCUIT_OPEN", message: `${m.provider} is marked down`, durationMs: 0, at: new Date() });
        metrics.modelCalls.inc({ provider: m.provider, model: m.alias, outcome: "CIRCUIT_OPEN" });
        break;
      }
      deps.onModel?.(m.alias);
      const { call, result, error } = await callOnce(live, m.alias, m.model, req, onDelta, signal);
      call.costUsd = catalog.costOf(m.alias, call);
      calls.push(call);
      metrics.modelCalls.inc({ provider: m.provider, model: m.alias, outcome: call.outcome });
      metrics.modelTokens.inc({ provider: m.provider, model: m.alias, direction: "input" }, call.inputTokens);
      metrics.modelTokens.inc({ provider: m.provider, model: m.alias, direction: "output" }, call.outputTokens);
      metrics.modelCost.inc({ provider: m.provider, model: m.alias }, call.costUsd);
      if (result) {
        live.breaker.success();
        return { ok: true, result, alias: m.alias, calls };
      }
      if (signal.aborted) {
        live.breaker.neutral();
        return { ok: false, error: signal.reason ?? error, calls };
      }
      const failure = classify(error, live.entry.timeoutMs);
      if (!failure.transient) {
        live.breaker.success(); // it answered, and said no: the provider is up
        return { ok: false, error, calls };
      }
      live.breaker.failure();
      last = error;
      if (attempt < live.entry.retries) {
        const wait = Math.min(MAX_RETRY_WAIT_MS, Math.max(200 * 2 ** attempt, failure.retryAfterMs ?? 0));
        await sleep(wait, undefined, { signal }).catch(() => undefined);
        if (signal.aborted) return { ok: false, error: signal.reason, calls };
      }
    }
    const next = chain[i + 1];
    if (next) metrics.fallbacks.inc({ from: m.alias, to: next.alias, reason: calls.at(-1)!.outcome });
  }
  return { ok: false, error: last ?? new ProviderError("PROVIDER_CIRCUIT_OPEN", "every model's provider is marked down", true), calls };
}

async function callOnce(live: LiveProvider, alias: string, model: string, req: ProviderRequest, onDelta: (text: string) => void, signal: AbortSignal) {
  const abort = new AbortController();
  const onParent = () => abort.abort(signal.reason);
  signal.addEventListener("abort", onParent, { once: true });
  const timer = setTimeout(() => abort.abort(new Stop("timeout")), live.entry.timeoutMs);
  const began = Date.now();
  let received = "";
  const call: ModelCall = { alias, provider: live.entry.name, model, inputTokens: 0, outputTokens: 0, costUsd: 0, outcome: "ok", message: "", durationMs: 0, at: new Date() };
  try {
    const result = await untilAborted(
      live.client.run({ ...req, model }, (d) => {
        received += d;
        onDelta(d);
      }, abort.signal),
      abort.signal,
    );
    Object.assign(call, { model: result.model || model, inputTokens: result.usage.inputTokens, outputTokens: result.usage.outputTokens });
    return { call, result };
  } catch (error) {
    const failure = classify(error, live.entry.timeoutMs);
    call.outcome = error instanceof Stop && error.why !== "timeout" ? error.why.toUpperCase() : failure.code;
    call.message = failure.message.slice(0, 500);
    // A call that streamed text before it broke was billed for it: count what we saw.
    if (received) Object.assign(call, { inputTokens: estimateTokens(systemPrompt(req.type) + userPrompt(req)), outputTokens: estimateTokens(received) });
    return { call, error };
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", onParent);
    call.durationMs = Date.now() - began;
  }
}

/** Rejects with the abort reason as soon as the signal fires, even if `p` ignores the signal. */
export function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

import { AsyncLocalStorage } from "node:async_hooks";
import { AppError } from "../../errors.js";
import type { ServerInterceptor } from "./call.js";

/**
 * The call being served, for work far below the handler that has no `ctx` to look at (the
 * store's database driver refuses to start a query or commit a transaction for a call that
 * was cancelled or is past its deadline). Like the trace context, it follows async work
 * started inside the call; it ends with the call, so work that outlives it is left alone.
 */
interface Scope {
  signal: AbortSignal;
  deadline?: number;
  live: boolean;
}

const storage = new AsyncLocalStorage<Scope>();

export const callScope = (): ServerInterceptor => (next) => (call) => {
  const scope: Scope = { signal: call.signal, deadline: call.deadline, live: true };
  return storage.run(scope, () => next(call)).finally(() => {
    scope.live = false;
  });
};

/** Why the call being served should stop now (cancelled, or past its deadline); undefined outside a call. */
export function callStopped(): AppError | undefined {
  const scope = storage.getStore();
  if (!scope?.live) return undefined;
  if (scope.signal.aborted) return scope.signal.reason instanceof AppError ? scope.signal.reason : new AppError("UNAVAILABLE", "call cancelled");
  if (scope.deadline !== undefined && Date.now() >= scope.deadline) return new AppError("DEADLINE_EXCEEDED", "deadline exceeded");
  return undefined;
}

/** The signal of the call being served, for work that can be interrupted (a running query). */
export function callSignal(): AbortSignal | undefined {
  const scope = storage.getStore();
  return scope?.live ? scope.signal : undefined;
}

/** Runs fn outside any call: background work a call merely starts (an outbox poke) is not the call's to stop. */
export function outsideCall<T>(fn: () => T): T {
  return storage.exit(fn);
}

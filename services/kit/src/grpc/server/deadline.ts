import { AppError } from "../../errors.js";
import type { ServerInterceptor } from "./call.js";

/**
 * A call past its deadline is refused before any work; one that reaches it while running has
 * its signal aborted with DEADLINE_EXCEEDED (a client cancel aborts it too), so work below
 * that listens stops, and writes check it before they commit.
 */
export const deadline = (): ServerInterceptor => (next) => async (call) => {
  if (call.deadline === undefined) return next(call);
  const ms = call.deadline - Date.now();
  if (ms <= 0) throw new AppError("DEADLINE_EXCEEDED", "deadline already passed");
  const abort = new AbortController();
  const onCancel = () => abort.abort(call.signal.reason);
  if (call.signal.aborted) onCancel();
  else call.signal.addEventListener("abort", onCancel, { once: true });
  const timer = setTimeout(() => abort.abort(new AppError("DEADLINE_EXCEEDED", "deadline exceeded")), ms);
  timer.unref();
  try {
    return await next({ ...call, signal: abort.signal });
  } finally {
    clearTimeout(timer);
    call.signal.removeEventListener("abort", onCancel);
  }
};

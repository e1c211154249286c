import type { ClientInterceptor } from "./call.js";

/**
 * Every call has a deadline: its own budget (or the client's default), cut to what is left of
 * the caller's deadline when one was handed down. Set outside retry, so retries share it.
 */
export const deadline =
  (defaultMs: number): ClientInterceptor =>
  (next) =>
  (call) => {
    const own = Date.now() + (call.options.deadlineMs ?? defaultMs);
    const inherited = call.options.deadline;
    return next({ ...call, deadline: inherited !== undefined ? Math.min(own, inherited) : own });
  };

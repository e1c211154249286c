import type { CallOptions } from "./client/call.js";
import type { CallContext } from "./handler.js";

/**
 * The options of a call made while serving another: the same token, request id, cancellation
 * and what is left of the deadline, so a client that goes away or runs out of time stops the
 * work behind it on every hop. `over` replaces some (a relayed call: the service's token, the
 * user's as onBehalfOf).
 */
export function forward(ctx: Pick<CallContext, "token" | "requestId" | "signal" | "deadline">, over: Partial<CallOptions> = {}): CallOptions {
  return { token: ctx.token, requestId: ctx.requestId, signal: ctx.signal, deadline: ctx.deadline, ...over };
}

import { forbidden, unauthenticated } from "../../errors.js";
import type { CallAuth, ServerCall, ServerInterceptor } from "./call.js";

// Guards are interceptors on a binding (bind's `methods` or `interceptors`): the rule "only the
// broker drives the task lifecycle" is written once where the service is bound, not at the top
// of each handler. They run after authenticate, so `auth` is set.

const authOf = (call: ServerCall): CallAuth => {
  if (!call.auth) throw unauthenticated();
  return call.auth;
};

/** Only the named service's own token: the gateway's token cannot drive the task lifecycle. */
export const serviceOnly =
  (name: string): ServerInterceptor =>
  (next) =>
  (call) => {
    const { caller } = authOf(call);
    if (caller.kind !== "service") throw unauthenticated("this call needs a service token");
    if (caller.name !== name) throw forbidden(`only the ${name} makes this call`);
    return next(call);
  };

/**
 * Only a user's call relayed by the named service (relay.ts): CreateTask is the broker's, so AI
 * work always passes the broker's checks; a user's own token, or the service's alone, is refused.
 */
export const relayedBy =
  (name: string): ServerInterceptor =>
  (next) =>
  (call) => {
    // callerOf sets `via` only with a user's token in `caller`.
    if (authOf(call).via !== name) throw forbidden(`only the ${name} makes this call, on a user's behalf`);
    return next(call);
  };

/**
 * The connect-es model, for both sides of a unary call: an interceptor wraps the next step and
 * may change the call on its way in, the answer or error on its way out, or not call next at
 * all (a guard). `promiseClient` and `implement` are each a short list of these around a
 * transport or a handler, so a concern (auth, deadline, tracing, metrics, logging, retry) lives
 * in one file and a binding adds its own (a "broker only" guard) without touching handlers.
 */
export type Next<C> = (call: C) => Promise<unknown>;
export type Interceptor<C> = (next: Next<C>) => Next<C>;

/** The first interceptor is the outermost: it sees the call first and the answer last. */
export function applyInterceptors<C>(inner: Next<C>, interceptors: readonly Interceptor<C>[]): Next<C> {
  return interceptors.reduceRight<Next<C>>((next, wrap) => wrap(next), inner);
}

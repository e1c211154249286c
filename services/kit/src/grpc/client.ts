import { Metadata } from "@grpc/grpc-js";
import { fromServiceError } from "../errors.js";
import type { Metrics } from "../metrics.js";
import type { ChannelPool } from "./channel-pool.js";
import type { CallOptions, ClientInterceptor } from "./client/call.js";
import { credentials } from "./client/credentials.js";
import { deadline } from "./client/deadline.js";
import { metrics } from "./client/metrics.js";
import { retry } from "./client/retry.js";
import { tracing } from "./client/tracing.js";
import { transport } from "./client/transport.js";
import { applyInterceptors } from "./interceptor.js";

export { channelPool, type ChannelPool } from "./channel-pool.js";
export type { CallOptions, ClientCall, ClientInterceptor } from "./client/call.js";

type MethodDef = { path: string; requestSerialize: (v: any) => Buffer; responseDeserialize: (b: Buffer) => any };
type ReqOf<M> = M extends { requestSerialize: (v: infer R) => Buffer } ? R : never;
type ResOf<M> = M extends { responseDeserialize: (b: Buffer) => infer R } ? R : never;

/** A promise-returning client, typed from the generated service definition. */
export type PromiseClient<D> = { [K in keyof D]: (req: ReqOf<D[K]>, opts: CallOptions) => Promise<ResOf<D[K]>> };

export interface ClientDefaults {
  deadlineMs: number;
  metrics?: Metrics;
  /** Extra attempts of a read on UNAVAILABLE (2). */
  retries?: number;
  /** Around each attempt, inside the kit's own. */
  interceptors?: ClientInterceptor[];
}

/**
 * Every outgoing call gets a deadline, the caller's token, the request id and trace context;
 * reads are retried on UNAVAILABLE. Errors arrive as AppError with the server's domain code.
 */
export function promiseClient<D extends Record<string, MethodDef>>(def: D, pool: ChannelPool, defaults: ClientDefaults): PromiseClient<D> {
  const out = {} as Record<string, (req: unknown, opts: CallOptions) => Promise<unknown>>;
  for (const [name, m] of Object.entries(def)) {
    const chain = applyInterceptors(transport(pool, m), [
      deadline(defaults.deadlineMs),
      credentials(),
      retry(defaults.retries ?? 2, defaults.metrics),
      tracing(),
      ...(defaults.metrics ? [metrics(defaults.metrics)] : []),
      ...(defaults.interceptors ?? []),
    ]);
    out[name] = (request, options) =>
      chain({ method: m.path, name, request, options, metadata: new Metadata() }).catch((err: unknown) => {
        throw fromServiceError(err);
      });
  }
  return out as PromiseClient<D>;
}

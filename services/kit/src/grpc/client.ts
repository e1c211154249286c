import { SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { Client, connectivityState, credentials, Metadata, status as GrpcStatus, type ServiceError } from "@grpc/grpc-js";
import { GRPC_MAX_MESSAGE_BYTES } from "../config.js";
import { AppError, fromServiceError } from "../errors.js";
import type { Metrics } from "../metrics.js";
import { injectTrace } from "../telemetry.js";
import { ON_BEHALF_OF } from "./relay.js";

type MethodDef = { path: string; requestSerialize: (v: any) => Buffer; responseDeserialize: (b: Buffer) => any };
type ReqOf<M> = M extends { requestSerialize: (v: infer R) => Buffer } ? R : never;
type ResOf<M> = M extends { responseDeserialize: (b: Buffer) => infer R } ? R : never;

export interface CallOptions {
  /** Bearer token to forward: the end user's, or a service token. */
  token: string;
  /** With a service token: the end user's own bearer token, for a call the service makes on their behalf. */
  onBehalfOf?: string;
  requestId?: string;
  deadlineMs?: number;
  signal?: AbortSignal;
}

/** A promise-returning client, typed from the generated service definition. */
export type PromiseClient<D> = { [K in keyof D]: (req: ReqOf<D[K]>, opts: CallOptions) => Promise<ResOf<D[K]>> };

export interface ChannelPool {
  /** The next channel, round robin, passing over channels still waiting out a reconnect backoff. */
  next(): Client;
  close(): void;
}

/**
 * A few channels to one target. The grpc-js client is the costly side of a call and one
 * channel saturates early; callers spreading over 2–4 channels measured +24–43% (docs/toolchain.md).
 * With a dns:/// target and round_robin, each channel also balances across replicas.
 */
export function channelPool(target: string, size = 3, maxMessageBytes = GRPC_MAX_MESSAGE_BYTES): ChannelPool {
  const channels = Array.from(
    { length: size },
    () =>
      new Client(target, credentials.createInsecure(), {
        "grpc.use_local_subchannel_pool": 1,
        "grpc.service_config": JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
        "grpc.keepalive_time_ms": 30_000,
        // A restarted server is used within a second of listening again.
        "grpc.initial_reconnect_backoff_ms": 200,
        "grpc.max_reconnect_backoff_ms": 1_000,
        "grpc.max_send_message_length": maxMessageBytes,
        "grpc.max_receive_message_length": maxMessageBytes,
      }),
  );
  let i = 0;
  // Each channel reconnects on its own schedule: once one is back, calls go to it rather than
  // failing fast on a sibling that is still in TRANSIENT_FAILURE.
  const failing = (c: Client) => c.getChannel().getConnectivityState(false) === connectivityState.TRANSIENT_FAILURE;
  return {
    next: () => {
      for (let k = 0; k < channels.length; k++) {
        const c = channels[i++ % channels.length];
        if (!failing(c)) return c;
      }
      return channels[i++ % channels.length];
    },
    close: () => channels.forEach((c) => c.close()),
  };
}

const tracer = trace.getTracer("sker-grpc-client");
const READ = /^(get|list)/i;

/**
 * Every outgoing call gets a deadline, the caller's token, the request id and trace context.
 * Reads (Get*, List*) are retried on UNAVAILABLE; nothing else is, since a write may have landed.
 */
export function promiseClient<D extends Record<string, MethodDef>>(
  def: D,
  pool: ChannelPool,
  defaults: { deadlineMs: number; metrics?: Metrics; retries?: number },
): PromiseClient<D> {
  const out = {} as Record<string, (req: unknown, opts: CallOptions) => Promise<unknown>>;
  for (const [name, m] of Object.entries(def)) {
    const idempotent = READ.test(name);
    const once = (req: unknown, opts: CallOptions) =>
      tracer.startActiveSpan(m.path, { kind: SpanKind.CLIENT, attributes: { "rpc.system": "grpc", "rpc.method": m.path } }, (span) => {
        const md = new Metadata();
        md.set("authorization", `Bearer ${opts.token}`);
        if (opts.onBehalfOf) md.set(ON_BEHALF_OF, `Bearer ${opts.onBehalfOf}`);
        if (opts.requestId) md.set("x-request-id", opts.requestId);
        injectTrace(md);
        const started = process.hrtime.bigint();
        const pending = new Promise<unknown>((resolve, reject) => {
          let call: { cancel(): void } | undefined;
          const cancel = () => call?.cancel();
          call = pool.next().makeUnaryRequest(
            m.path,
            m.requestSerialize,
            m.responseDeserialize,
            req,
            md,
            { deadline: Date.now() + (opts.deadlineMs ?? defaults.deadlineMs) },
            (err: ServiceError | null, res?: unknown) => {
              const code = err ? err.code : GrpcStatus.OK;
              defaults.metrics?.clientDuration.observe({ method: m.path, code: GrpcStatus[code] }, Number(process.hrtime.bigint() - started) / 1e9);
              opts.signal?.removeEventListener("abort", cancel);
              if (err) span.setStatus({ code: SpanStatusCode.ERROR, message: err.details });
              span.end();
              if (err) reject(err);
              else resolve(res);
            },
          );
          if (opts.signal?.aborted) call.cancel();
          else opts.signal?.addEventListener("abort", cancel, { once: true });
        });
        // A request that cannot even be serialized rejects synchronously: end its span too.
        return pending.catch((err: unknown) => {
          if (span.isRecording() && (err as ServiceError)?.code === undefined) span.end();
          throw err;
        });
      });
    out[name] = async (req, opts) => {
      const attempts = idempotent ? (defaults.retries ?? 2) + 1 : 1;
      for (let attempt = 1; ; attempt++) {
        try {
          return await once(req, opts);
        } catch (err) {
          const se = err as ServiceError;
          if (attempt < attempts && se?.code === GrpcStatus.UNAVAILABLE && !opts.signal?.aborted) {
            defaults.metrics?.clientRetries.inc({ method: m.path });
            await new Promise((r) => setTimeout(r, 50 * 2 ** attempt * (0.5 + Math.random())));
            continue;
          }
          throw fromServiceError(err);
        }
      }
    };
  }
  return out as PromiseClient<D>;
}


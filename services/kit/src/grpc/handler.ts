import { context as otelContext, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import {
  status as GrpcStatus,
  type Metadata,
  type ServerUnaryCall,
  type sendUnaryData,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { randomUUID } from "node:crypto";
import { AppError, invalid, toServiceError, unauthenticated } from "../errors.js";
import { findBadText } from "../input.js";
import { JSON_DEPTH } from "@sker/contracts/limits";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import { extractTrace } from "../telemetry.js";
import { bearer, type Caller, type Tokens } from "../tokens.js";
import { callerOf, ON_BEHALF_OF } from "./relay.js";

/** What a handler knows about the call besides its request. */
export interface CallContext {
  readonly caller: Caller;
  /** The raw bearer token, to forward on calls made for this caller. */
  readonly token: string;
  /** Set when a service relayed this call for the user in `caller` (see relay.ts). */
  readonly via?: string;
  readonly requestId: string;
  readonly method: string;
  readonly log: Logger;
  /** Aborted when the client cancels or the deadline passes. */
  readonly signal: AbortSignal;
}

export type UnaryHandler<Req, Res> = (req: Req, ctx: CallContext) => Promise<Res>;

type MethodDef = { path: string; requestStream: boolean; responseStream: boolean; requestDeserialize: (b: Buffer) => any; responseSerialize: (v: any) => Buffer };
export type ServiceDef = Record<string, MethodDef>;
type ReqOf<M> = M extends { requestDeserialize: (b: Buffer) => infer R } ? R : never;
type ResOf<M> = M extends { responseSerialize: (v: infer R) => Buffer } ? R : never;

/** A service implemented as async functions: one per RPC, all required by the type. */
export type Implementation<D extends ServiceDef> = { [K in keyof D]: UnaryHandler<ReqOf<D[K]>, ResOf<D[K]>> };

export interface HandlerKit {
  tokens: Tokens;
  log: Logger;
  metrics: Metrics;
  /** Extra check of a verified caller and its token (the store and broker refuse revoked accounts and tokens here). */
  authorize?: (caller: Caller, token: string) => Promise<void>;
  /** Track in-flight calls so shutdown can wait for them. */
  inflight: Set<Promise<unknown>>;
}

const tracer = trace.getTracer("sker-grpc-server");

/**
 * The server side of every RPC in one place: the caller is authenticated before the handler
 * runs (no token → UNAUTHENTICATED), the call is timed, logged and traced, and whatever the
 * handler throws becomes a gRPC status through the error table.
 */
export function implement<D extends ServiceDef>(def: D, impl: Implementation<D>, kit: HandlerKit): UntypedServiceImplementation {
  const out: UntypedServiceImplementation = {};
  for (const name of Object.keys(def) as (keyof D & string)[]) {
    const method = def[name].path;
    const handler = impl[name];
    out[name] = (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
      const started = process.hrtime.bigint();
      const md = call.metadata;
      const requestId = headerOf(md, "x-request-id") ?? randomUUID();
      const abort = new AbortController();
      call.on("cancelled", () => abort.abort(new AppError("UNAVAILABLE", "call cancelled")));
      const deadline = call.getDeadline();
      const ms = deadline instanceof Date ? deadline.getTime() - Date.now() : typeof deadline === "number" && Number.isFinite(deadline) ? deadline - Date.now() : undefined;
      const timer = ms !== undefined && ms > 0 ? setTimeout(() => abort.abort(new AppError("DEADLINE_EXCEEDED", "deadline exceeded")), ms) : undefined;
      timer?.unref();

      const run = otelContext.with(extractTrace(md), () =>
        tracer.startActiveSpan(method, { kind: SpanKind.SERVER, attributes: { "rpc.system": "grpc", "rpc.method": method } }, async (span) => {
          let code: number = GrpcStatus.OK;
          const log = kit.log.child({ requestId, method });
          try {
            if (ms !== undefined && ms <= 0) throw new AppError("DEADLINE_EXCEEDED", "deadline already passed");
            const token = bearer(headerOf(md, "authorization"));
            if (!token) throw unauthenticated("missing bearer token in authorization metadata");
            const { caller, token: callerToken, via } = await callerOf(kit, token, headerOf(md, ON_BEHALF_OF));
            checkRequest(call.request);
            const res = await handler(call.request as ReqOf<D[typeof name]>, { caller, token: callerToken, via, requestId, method, log, signal: abort.signal });
            callback(null, res);
          } catch (err) {
            const se = toServiceError(err);
            code = se.code!;
            if (!(err instanceof AppError)) {
              if (se.code === GrpcStatus.UNAVAILABLE) log.warn({ err: (err as Error)?.message }, "dependency unavailable");
              else log.error({ err }, "unhandled error in RPC");
            }
            span.setStatus({ code: SpanStatusCode.ERROR, message: se.details });
            callback(se);
          } finally {
            if (timer) clearTimeout(timer);
            const seconds = Number(process.hrtime.bigint() - started) / 1e9;
            kit.metrics.rpcDuration.observe({ method, code: GrpcStatus[code] }, seconds);
            log.debug({ code: GrpcStatus[code], ms: Math.round(seconds * 1000) }, "rpc");
            span.end();
          }
        }),
      );
      kit.inflight.add(run);
      void run.finally(() => kit.inflight.delete(run));
    };
  }
  return out;
}

const UNDECODABLE = Symbol("undecodable request");

/**
 * The definition with request decoding that cannot throw: grpc-js answers a decoder's throw
 * (JSON in a Struct nested past the decoder's recursion limit) with INTERNAL, which is the
 * server's fault in every client's eyes. A request that does not decode is the caller's.
 */
export function tolerantDecoding<D extends ServiceDef>(def: D): D {
  const out: Record<string, MethodDef> = {};
  for (const [name, m] of Object.entries(def)) {
    const decode = m.requestDeserialize;
    out[name] = {
      ...m,
      requestDeserialize: (b: Buffer) => {
        try {
          return decode(b);
        } catch (err) {
          return { [UNDECODABLE]: (err as Error).message };
        }
      },
    };
  }
  return out as D;
}

/** Every RPC refuses what cannot be stored or was not decoded, naming the field (INVALID_ARGUMENT). */
function checkRequest(req: unknown): void {
  const undecodable = (req as { [UNDECODABLE]?: string } | null)?.[UNDECODABLE];
  if (undecodable !== undefined) throw invalid("request", `could not be decoded (${undecodable}); JSON fields must be nested at most ${JSON_DEPTH} levels deep`);
  const bad = findBadText(req);
  if (bad) throw invalid(bad.field, bad.message);
}

function headerOf(md: Metadata, key: string): string | undefined {
  const v = md.get(key)[0];
  return typeof v === "string" && v !== "" ? v : undefined;
}

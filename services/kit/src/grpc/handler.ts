import type { sendUnaryData, ServerUnaryCall, UntypedServiceImplementation } from "@grpc/grpc-js";
import { randomUUID } from "node:crypto";
import { AppError, toServiceError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import type { Caller } from "../tokens.js";
import { applyInterceptors } from "./interceptor.js";
import { authenticate, type AuthKit } from "./server/authenticate.js";
import { callScope } from "./server/call-scope.js";
import type { ServerCall, ServerInterceptor } from "./server/call.js";
import { deadline } from "./server/deadline.js";
import { logging } from "./server/logging.js";
import { headerOf } from "./server/metadata.js";
import { metrics } from "./server/metrics.js";
import type { ReqOf, ResOf, ServiceDef } from "./server/service-def.js";
import { tracing } from "./server/tracing.js";
import { validate } from "./server/validate.js";

export type { ServiceDef } from "./server/service-def.js";
export type { CallAuth, ServerCall, ServerInterceptor } from "./server/call.js";
export { relayedBy, serviceOnly } from "./server/guards.js";
export { callSignal, callStopped, outsideCall } from "./server/call-scope.js";
export { tolerantDecoding } from "./server/validate.js";

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
  /** The caller's deadline (ms since epoch); forward(ctx) hands what is left to the next call. */
  readonly deadline?: number;
}

export type UnaryHandler<Req, Res> = (req: Req, ctx: CallContext) => Promise<Res>;

/** A service implemented as async functions: one per RPC, all required by the type. */
export type Implementation<D extends ServiceDef> = { [K in keyof D]: UnaryHandler<ReqOf<D[K]>, ResOf<D[K]>> };

export interface HandlerKit extends AuthKit {
  log: Logger;
  metrics: Metrics;
  /** Track in-flight calls so shutdown can wait for them. */
  inflight: Set<Promise<unknown>>;
}

/** Interceptors a binding adds inside the kit's own: around every RPC, or around the named ones. */
export interface BindingInterceptors<D extends ServiceDef> {
  interceptors?: ServerInterceptor[];
  methods?: { [K in keyof D]?: ServerInterceptor[] };
}

/** The same interceptors for every RPC of a (partial) implementation: `{ methods: onEach(lifecycle, [serviceOnly("broker")]) }`. */
export function onEach<T extends object>(impl: T, interceptors: ServerInterceptor[]): { [K in keyof T]: ServerInterceptor[] } {
  return Object.fromEntries(Object.keys(impl).map((k) => [k, interceptors])) as { [K in keyof T]: ServerInterceptor[] };
}

/**
 * The server side of every RPC: tracing, metrics, logging, the deadline and the call's scope
 * (what the database driver checks before it commits), authentication
 * (no token → UNAUTHENTICATED) and request validation, then the binding's own interceptors,
 * then the handler. Whatever is thrown becomes a gRPC status through the error table.
 */
export function implement<D extends ServiceDef>(def: D, impl: Implementation<D>, kit: HandlerKit, own: BindingInterceptors<D> = {}): UntypedServiceImplementation {
  const out: UntypedServiceImplementation = {};
  for (const name of Object.keys(def) as (keyof D & string)[]) {
    const handler = impl[name] as UnaryHandler<unknown, unknown>;
    const chain = applyInterceptors(
      (call: ServerCall) => {
        const { caller, token, via } = call.auth!;
        return handler(call.request, { caller, token, via, requestId: call.requestId, method: call.method, log: call.log, signal: call.signal, deadline: call.deadline });
      },
      [tracing(), metrics(kit.metrics), logging(kit.log), deadline(), callScope(), authenticate(kit), validate(), ...(own.interceptors ?? []), ...(own.methods?.[name] ?? [])],
    );
    out[name] = (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
      const abort = new AbortController();
      const deadline = deadlineOf(call.getDeadline());
      // grpc-js cancels a call whose client went away, and one whose deadline passed (its timer
      // may fire a little before our clock reads the deadline: hence the slack). It also says
      // "cancelled" when the stream of a call already answered closes: nothing is left to stop.
      let answered = false;
      call.on("cancelled", () => {
        if (answered) return;
        abort.abort(deadline !== undefined && Date.now() >= deadline - 100 ? new AppError("DEADLINE_EXCEEDED", "deadline exceeded") : new AppError("UNAVAILABLE", "call cancelled"));
      });
      const run = chain({
        method: def[name].path,
        name,
        request: call.request,
        metadata: call.metadata,
        requestId: headerOf(call.metadata, "x-request-id") ?? randomUUID(),
        signal: abort.signal,
        deadline,
        log: kit.log,
      }).then(
        (res) => {
          answered = true;
          callback(null, res);
        },
        (err: unknown) => {
          answered = true;
          callback(toServiceError(err));
        },
      );
      kit.inflight.add(run);
      void run.finally(() => kit.inflight.delete(run));
    };
  }
  return out;
}

/** grpc-js gives a Date, a number (Infinity: none) or nothing. */
function deadlineOf(d: Date | number | undefined): number | undefined {
  const ms = d instanceof Date ? d.getTime() : d;
  return typeof ms === "number" && Number.isFinite(ms) ? ms : undefined;
}

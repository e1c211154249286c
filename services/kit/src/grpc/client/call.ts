import type { Metadata } from "@grpc/grpc-js";
import type { Interceptor } from "../interceptor.js";

export interface CallOptions {
  /** Bearer token to forward: the end user's, or a service token. */
  token: string;
  /** With a service token: the end user's own bearer token, for a call the service makes on their behalf. */
  onBehalfOf?: string;
  requestId?: string;
  /** This call's budget; the client's default when unset. Never later than `deadline`. */
  deadlineMs?: number;
  /** The caller's own deadline (ms since epoch), handed down by forward(ctx): the next hop gets what is left. */
  deadline?: number;
  /** Cancels the call; forward(ctx) hands down the handler's, so a caller that goes away stops the work behind it. */
  signal?: AbortSignal;
}

/** One outgoing unary call as the client's interceptors see it. */
export interface ClientCall {
  /** "/sker.store.v1.NodeService/GetNode". */
  readonly method: string;
  /** The RPC's key in the generated definition ("getNode"). */
  readonly name: string;
  readonly request: unknown;
  readonly options: CallOptions;
  /** Sent as request headers; each attempt gets its own copy. */
  readonly metadata: Metadata;
  /** Absolute, ms since epoch; set by the deadline interceptor. */
  readonly deadline?: number;
}

export type ClientInterceptor = Interceptor<ClientCall>;

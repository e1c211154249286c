import type { Metadata } from "@grpc/grpc-js";
import type { Logger } from "../../logger.js";
import type { Caller } from "../../tokens.js";
import type { Interceptor } from "../interceptor.js";

/** Who made a call, once the authenticate interceptor has verified it. */
export interface CallAuth {
  readonly caller: Caller;
  /** The raw bearer token, to forward on calls made for this caller. */
  readonly token: string;
  /** Set when a service relayed this call for the user in `caller` (see relay.ts). */
  readonly via?: string;
}

/** One incoming unary call as the server's interceptors see it. */
export interface ServerCall {
  /** "/sker.store.v1.NodeService/GetNode". */
  readonly method: string;
  /** The RPC's key in the generated definition ("getNode"). */
  readonly name: string;
  readonly request: unknown;
  readonly metadata: Metadata;
  readonly requestId: string;
  /** Aborted when the client cancels (and, inside the deadline interceptor, when the deadline passes). */
  readonly signal: AbortSignal;
  /** The caller's deadline, ms since epoch. */
  readonly deadline?: number;
  readonly log: Logger;
  /** Unset until the authenticate interceptor has run. */
  readonly auth?: CallAuth;
}

export type ServerInterceptor = Interceptor<ServerCall>;

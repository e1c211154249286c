import { JSON_DEPTH } from "@sker/contracts/limits";
import { invalid } from "../../errors.js";
import { findBadText } from "../../input.js";
import type { ServiceDef } from "./service-def.js";
import type { ServerInterceptor } from "./call.js";

const UNDECODABLE = Symbol("undecodable request");

/**
 * The definition with request decoding that cannot throw: grpc-js answers a decoder's throw
 * (JSON in a Struct nested past the decoder's recursion limit) with INTERNAL, which is the
 * server's fault in every client's eyes. A request that does not decode is the caller's.
 */
export function tolerantDecoding<D extends ServiceDef>(def: D): D {
  const out: ServiceDef = {};
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
export const validate = (): ServerInterceptor => (next) => (call) => {
  const undecodable = (call.request as { [UNDECODABLE]?: string } | null)?.[UNDECODABLE];
  if (undecodable !== undefined) throw invalid("request", `could not be decoded (${undecodable}); JSON fields must be nested at most ${JSON_DEPTH} levels deep`);
  const bad = findBadText(call.request);
  if (bad) throw invalid(bad.field, bad.message);
  return next(call);
};

import { unauthenticated } from "../../errors.js";
import { bearer, type Caller, type Tokens } from "../../tokens.js";
import { callerOf, ON_BEHALF_OF } from "../relay.js";
import { headerOf } from "./metadata.js";
import type { ServerInterceptor } from "./call.js";

export interface AuthKit {
  tokens: Tokens;
  /** Extra check of a verified caller and its token (the store and broker refuse revoked accounts and tokens here). */
  authorize?: (caller: Caller, token: string) => Promise<void>;
}

/** No bearer token, or one that does not verify: UNAUTHENTICATED before anything below runs. */
export const authenticate =
  (kit: AuthKit): ServerInterceptor =>
  (next) =>
  async (call) => {
    const token = bearer(headerOf(call.metadata, "authorization"));
    if (!token) throw unauthenticated("missing bearer token in authorization metadata");
    return next({ ...call, auth: await callerOf(kit, token, headerOf(call.metadata, ON_BEHALF_OF)) });
  };

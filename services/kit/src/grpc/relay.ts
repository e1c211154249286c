import { forbidden, unauthenticated } from "../errors.js";
import { bearer, type Caller, type Tokens } from "../tokens.js";

/**
 * Metadata key carrying the end user's own bearer token on a call a service makes for them.
 * The service's token (in `authorization`) says who relays; this one says for whom, and the
 * receiver verifies it like any user token, so tenancy is checked against the real user.
 */
export const ON_BEHALF_OF = "x-on-behalf-of";

interface RelayKit {
  tokens: Tokens;
  authorize?: (caller: Caller, token: string) => Promise<void>;
}

/**
 * The caller a handler sees. A plain call is its token's caller. A relayed call (service token
 * plus ON_BEHALF_OF) is the user's, with `via` naming the service: RPCs only a service may make
 * for a user (CreateTask: the broker) check `via`, and a user calling directly has none.
 */
export async function callerOf(kit: RelayKit, token: string, onBehalfOf: string | undefined): Promise<{ caller: Caller; token: string; via?: string }> {
  const caller = await kit.tokens.verify(token);
  await kit.authorize?.(caller, token);
  if (onBehalfOf === undefined) return { caller, token };
  if (caller.kind !== "service") throw forbidden("only a service relays a call for a user");
  const userToken = bearer(onBehalfOf);
  if (!userToken) throw unauthenticated(`missing bearer token in ${ON_BEHALF_OF} metadata`);
  const user = await kit.tokens.verify(userToken);
  if (user.kind !== "user") throw unauthenticated(`${ON_BEHALF_OF} must carry a user's token`);
  await kit.authorize?.(user, userToken);
  return { caller: user, token: userToken, via: caller.name };
}

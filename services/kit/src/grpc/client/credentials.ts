import { ON_BEHALF_OF } from "../relay.js";
import type { ClientInterceptor } from "./call.js";

/** The caller's identity and request id as metadata: every hop verifies the token itself. */
export const credentials = (): ClientInterceptor => (next) => (call) => {
  const { token, onBehalfOf, requestId } = call.options;
  call.metadata.set("authorization", `Bearer ${token}`);
  if (onBehalfOf) call.metadata.set(ON_BEHALF_OF, `Bearer ${onBehalfOf}`);
  if (requestId) call.metadata.set("x-request-id", requestId);
  return next(call);
};

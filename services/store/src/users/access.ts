import { isUuid, unauthenticated, type Caller } from "@sker/kit";
import type { StoreDeps } from "../deps.js";
import { accessRow } from "./repo.js";

const TTL_SECONDS = 60;

export const accessKey = (userId: string) => `user-access:${userId}`;

/** What a token is checked against: cached, and dropped by every change that revokes tokens. */
type AccessState = { v: number } | "gone" | "disabled";

/**
 * The kit `authorize` hook: a valid token is refused (UNAUTHENTICATED) when its account was
 * deleted or disabled, when its password changed since it was signed (token version), or when
 * it was logged out (deny-list). The cache entry is dropped by each of those changes, so the
 * hot path costs one cache read and one deny-list read, side by side.
 */
export function checkAccess(deps: StoreDeps) {
  return async (caller: Caller): Promise<void> => {
    if (caller.kind !== "user") return;
    if (!isUuid(caller.userId)) throw unauthenticated("token subject is not a user id");
    const [state, denied] = await Promise.all([accessState(deps, caller.userId), deps.denyList.has(caller.tokenId)]);
    if (state === "gone") throw unauthenticated("this account no longer exists");
    if (state === "disabled") throw unauthenticated("this account is disabled");
    if (denied) throw unauthenticated("this token was logged out");
    if (caller.tokenVersion < state.v) throw unauthenticated("this session was revoked; sign in again");
  };
}

async function accessState(deps: StoreDeps, userId: string): Promise<AccessState> {
  const cached = await deps.cache.get<AccessState>(accessKey(userId));
  if (cached !== undefined) return cached;
  const row = await accessRow(deps.db, userId);
  const state: AccessState = !row ? "gone" : row.disabled_at ? "disabled" : { v: row.token_version };
  await deps.cache.set(accessKey(userId), state, TTL_SECONDS);
  return state;
}

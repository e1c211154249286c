import { isUuid, unauthenticated, type Caller } from "@sker/kit";
import type { StoreDeps } from "../deps.js";

const TTL_SECONDS = 60;

export const aliveKey = (userId: string) => `user-alive:${userId}`;

/**
 * The kit `authorize` hook: a valid token of a deleted user is refused (UNAUTHENTICATED).
 * Cached, and DeleteMe drops the key, so the check costs a cache read on the hot path.
 */
export function userAlive(deps: StoreDeps) {
  return async (caller: Caller): Promise<void> => {
    if (caller.kind !== "user") return;
    if (!isUuid(caller.userId)) throw unauthenticated("token subject is not a user id");
    let alive = await deps.cache.get<boolean>(aliveKey(caller.userId));
    if (alive === undefined) {
      const row = await deps.db.selectFrom("users").select("id").where("id", "=", caller.userId).executeTakeFirst();
      alive = row !== undefined;
      await deps.cache.set(aliveKey(caller.userId), alive, TTL_SECONDS);
    }
    if (!alive) throw unauthenticated("this account no longer exists");
  };
}

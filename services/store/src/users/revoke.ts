import type { Kysely } from "kysely";
import type { Database } from "../db/schema.js";
import type { StoreDeps } from "../deps.js";
import { accessKey } from "./access.js";

/**
 * Inside the transaction that changes the password (or disables the account): every access
 * token signed before stops working (token version), and every refresh family is revoked.
 * Returns the new token version, for a session issued in the same transaction.
 */
export async function revokeSessions(trx: Kysely<Database>, userId: string): Promise<number> {
  const { token_version } = await trx
    .updateTable("users")
    .set((eb) => ({ token_version: eb("token_version", "+", 1), updated_at: new Date() }))
    .where("id", "=", userId)
    .returning("token_version")
    .executeTakeFirstOrThrow();
  await trx.updateTable("refresh_tokens").set({ revoked_at: new Date() }).where("user_id", "=", userId).where("revoked_at", "is", null).execute();
  return token_version;
}

/** After the commit: drop the cached access state and tell every gateway to close the sockets. */
export async function announceRevoked(deps: StoreDeps, userId: string, tokenId?: string): Promise<void> {
  await deps.cache.del(accessKey(userId));
  await deps.notifyRevoked({ userId, ...(tokenId ? { tokenId } : {}) });
}

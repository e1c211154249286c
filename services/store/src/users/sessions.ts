import { randomUUID } from "node:crypto";
import { unauthenticated } from "@sker/kit";
import type { AuthSession } from "@sker/contracts/store/v1/user";
import type { Kysely } from "kysely";
import type { Database, UserRow } from "../db/schema.js";
import type { StoreDeps } from "../deps.js";
import { userToProto } from "./map.js";
import { newSecret, sha256 } from "./secrets.js";

/**
 * A session = a short access JWT + a refresh token of one family (one login). Refresh tokens
 * rotate: each is good once; presenting a spent one means it was stolen or replayed, so the
 * whole family is revoked and both holders must log in again.
 */
export async function issueSession(db: Kysely<Database>, deps: StoreDeps, user: UserRow, familyId: string = randomUUID()): Promise<AuthSession> {
  const refreshToken = newSecret("rt_");
  await db
    .insertInto("refresh_tokens")
    .values({
      family_id: familyId,
      user_id: user.id,
      token_hash: sha256(refreshToken),
      expires_at: new Date(Date.now() + deps.config.refreshTokenTtlSeconds * 1000),
    })
    .execute();
  const ttl = deps.config.accessTokenTtlSeconds;
  const accessToken = await deps.tokens.signAccess(user, ttl);
  return { user: userToProto(user), accessToken, refreshToken, expiresIn: ttl };
}

async function revokeFamily(db: Kysely<Database>, familyId: string) {
  await db.updateTable("refresh_tokens").set({ revoked_at: new Date() }).where("family_id", "=", familyId).where("revoked_at", "is", null).execute();
}

export async function rotate(deps: StoreDeps, refreshToken: string): Promise<AuthSession> {
  const { db } = deps;
  const row = await db.selectFrom("refresh_tokens").selectAll().where("token_hash", "=", sha256(refreshToken)).executeTakeFirst();
  if (!row) throw unauthenticated("refresh token not recognised");
  if (row.revoked_at) throw unauthenticated("refresh token revoked");
  if (row.expires_at.getTime() <= Date.now()) throw unauthenticated("refresh token expired");
  const session = await db.transaction().execute(async (trx) => {
    // Spending is a conditional update, so two concurrent uses cannot both win.
    const spent = await trx
      .updateTable("refresh_tokens")
      .set({ used_at: new Date() })
      .where("id", "=", row.id)
      .where("used_at", "is", null)
      .where("revoked_at", "is", null)
      .returning("id")
      .executeTakeFirst();
    if (!spent) return undefined;
    const user = await trx.selectFrom("users").selectAll().where("id", "=", row.user_id).executeTakeFirst();
    if (!user || user.disabled_at) return undefined;
    return issueSession(trx, deps, user, row.family_id);
  });
  if (!session) {
    await revokeFamily(db, row.family_id);
    throw unauthenticated("refresh token reuse detected; the session has been revoked");
  }
  return session;
}

/** Revokes the refresh token's family; answers its user (undefined for an unknown token). */
export async function logout(deps: StoreDeps, refreshToken: string): Promise<string | undefined> {
  const row = await deps.db.selectFrom("refresh_tokens").select(["family_id", "user_id"]).where("token_hash", "=", sha256(refreshToken)).executeTakeFirst();
  if (row) await revokeFamily(deps.db, row.family_id);
  return row?.user_id;
}

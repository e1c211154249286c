import { invalid } from "@sker/kit";
import { LIMITS } from "@sker/contracts/limits";
import type { Kysely } from "kysely";
import type { Database, UserTokensTable } from "../db/schema.js";
import { newSecret, sha256 } from "./secrets.js";

type Purpose = UserTokensTable["purpose"];

/** A single-use token mailed to a user; only its sha256 is stored. */
export async function issueUserToken(trx: Kysely<Database>, userId: string, purpose: Purpose, ttlSeconds: number): Promise<string> {
  const token = newSecret(purpose === "password_reset" ? "pr_" : "ve_");
  await trx
    .insertInto("user_tokens")
    .values({ user_id: userId, purpose, token_hash: sha256(token), expires_at: new Date(Date.now() + ttlSeconds * 1000) })
    .execute();
  return token;
}

/**
 * Spends a token (a conditional update, so two concurrent uses cannot both win) and answers its
 * user; every other unspent token of that purpose goes with it. Unknown, spent and expired
 * tokens are one answer: a 400 naming the field.
 */
export async function spendUserToken(trx: Kysely<Database>, token: string | undefined, purpose: Purpose): Promise<string> {
  if (!token || token.length > LIMITS.user.oneTimeToken) throw invalid("token", "is required");
  const row = await trx
    .updateTable("user_tokens")
    .set({ used_at: new Date() })
    .where("token_hash", "=", sha256(token))
    .where("purpose", "=", purpose)
    .where("used_at", "is", null)
    .where("expires_at", ">", new Date())
    .returning("user_id")
    .executeTakeFirst();
  if (!row) throw invalid("token", "is not valid (unknown, already used or expired)");
  await trx.updateTable("user_tokens").set({ used_at: new Date() }).where("user_id", "=", row.user_id).where("purpose", "=", purpose).where("used_at", "is", null).execute();
  return row.user_id;
}

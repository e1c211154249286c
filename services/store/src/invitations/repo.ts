import { sql, type Kysely, type Transaction } from "kysely";
import { LIMITS } from "@sker/contracts/limits";
import type { Database, Role } from "../db/schema.js";
import { appendEvent, type Actor } from "../events/append.js";
import { payload } from "../events/payload.js";
import { type MemberView } from "../projects/map.js";
import { memberView } from "../projects/repo.js";
import { sha256 } from "../users/secrets.js";

// SQL of invitations. "Pending" = neither accepted nor revoked, and not expired.

export const pending = sql<boolean>`accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()`;

export function listPending(db: Kysely<Database>, projectId: string) {
  return db.selectFrom("invitations").selectAll().where("project_id", "=", projectId).where(pending).orderBy("created_at").orderBy("id").execute();
}

export function findPendingByToken(db: Kysely<Database>, token: string) {
  return db.selectFrom("invitations").selectAll().where("token_hash", "=", sha256(token)).where(pending).executeTakeFirst();
}

/**
 * Makes the user a member with `role` unless they already are (an existing membership keeps
 * its role), writing `member.added`. Answers the membership and whether it is new; undefined
 * when the project is gone.
 */
export async function addMember(trx: Transaction<Database>, projectId: string, userId: string, role: Role, by: Actor): Promise<{ view: MemberView; added: boolean } | undefined> {
  const live = await trx.selectFrom("projects").select("id").where("id", "=", projectId).where("deleted_at", "is", null).forUpdate().executeTakeFirst();
  if (!live) return undefined;
  const inserted = await trx
    .insertInto("project_members")
    .values({ project_id: projectId, user_id: userId, role })
    .onConflict((oc) => oc.columns(["project_id", "user_id"]).doNothing())
    .returning("user_id")
    .executeTakeFirst();
  const view = (await memberView(trx, projectId, userId))!;
  if (inserted) await appendEvent(trx, projectId, "member.added", payload.member(view), by);
  return { view, added: inserted !== undefined };
}

/**
 * Turns every pending invitation of `email` into a membership of `userId` (register, sign-in
 * or verification of that mailbox). Answers the projects joined.
 */
export async function acceptPendingFor(trx: Transaction<Database>, userId: string, email: string): Promise<string[]> {
  const invites = await trx
    .selectFrom("invitations")
    .select(["id", "project_id", "role"])
    .where(sql<boolean>`lower(email) = ${email.toLowerCase()}`)
    .where(pending)
    .orderBy("created_at")
    .execute();
  const joined: string[] = [];
  for (const inv of invites) {
    const res = await addMember(trx, inv.project_id, userId, inv.role, { userId });
    await trx.updateTable("invitations").set({ accepted_at: new Date(), accepted_by: userId }).where("id", "=", inv.id).execute();
    if (res?.added) joined.push(inv.project_id);
  }
  return joined;
}

/**
 * Register with an invitation token: the one invitation it names is joined when it was sent to
 * the email being registered. It does not verify the email (the owner may have passed the
 * link on), so it never makes an admin; an unknown, revoked or expired token joins nothing.
 */
export async function acceptInvitationToken(trx: Transaction<Database>, token: string, user: { id: string; email: string }): Promise<string[]> {
  if (token.length > LIMITS.user.oneTimeToken) return [];
  const inv = await findPendingByToken(trx, token);
  if (!inv || inv.email.toLowerCase() !== user.email.toLowerCase()) return [];
  await trx.updateTable("invitations").set({ accepted_at: new Date(), accepted_by: user.id }).where("id", "=", inv.id).execute();
  const res = await addMember(trx, inv.project_id, user.id, inv.role, { userId: user.id });
  return res?.added ? [inv.project_id] : [];
}

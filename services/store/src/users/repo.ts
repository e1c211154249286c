import type { Insertable, Kysely, Updateable } from "kysely";
import type { Database, UserRow, UsersTable } from "../db/schema.js";
import { afterCursor } from "../db/sql.js";
import type { Page } from "../input/page.js";

// SQL of accounts and API keys. (Refresh tokens and one-time tokens keep theirs beside the
// rules they serve: sessions.ts, one-time.ts, revoke.ts.)

type Db = Kysely<Database>;


export async function findUser(db: Db, id: string): Promise<UserRow | undefined> {
  return db.selectFrom("users").selectAll().where("id", "=", id).executeTakeFirst();
}

/** The accounts already holding this email or this username (case-insensitive). */
export async function holdersOf(db: Db, email: string, username: string) {
  return db
    .selectFrom("users")
    .select(["email", "username"])
    .where((eb) => eb.or([eb(eb.fn("lower", ["email"]), "=", email.toLowerCase()), eb(eb.fn("lower", ["username"]), "=", username.toLowerCase())]))
    .execute();
}

export async function hasAnyUser(db: Db): Promise<boolean> {
  return (await db.selectFrom("users").select("id").limit(1).executeTakeFirst()) !== undefined;
}

export async function insertUser(db: Db, values: Insertable<UsersTable>): Promise<UserRow> {
  return db.insertInto("users").values(values).returningAll().executeTakeFirstOrThrow();
}

/** By email or username, case-insensitive. */
export async function findByLogin(db: Db, column: "email" | "username", login: string): Promise<UserRow | undefined> {
  return db
    .selectFrom("users")
    .selectAll()
    .where((eb) => eb(eb.fn("lower", [column]), "=", login.toLowerCase()))
    .executeTakeFirst();
}

export async function findByEmail(db: Db, email: string) {
  return db
    .selectFrom("users")
    .select(["id", "email", "username", "disabled_at"])
    .where((eb) => eb(eb.fn("lower", ["email"]), "=", email.toLowerCase()))
    .executeTakeFirst();
}

export async function recordLogin(db: Db, id: string, rehash: string | undefined): Promise<void> {
  await db
    .updateTable("users")
    .set({ last_login_at: new Date(), ...(rehash ? { password_hash: rehash } : {}) })
    .where("id", "=", id)
    .execute();
}

export async function setPasswordHash(db: Db, id: string, hash: string): Promise<void> {
  await db.updateTable("users").set({ password_hash: hash }).where("id", "=", id).execute();
}

export async function patchUser(db: Db, id: string, patch: Updateable<UsersTable>): Promise<UserRow | undefined> {
  return db
    .updateTable("users")
    .set({ ...patch, updated_at: new Date() })
    .where("id", "=", id)
    .returningAll()
    .executeTakeFirst();
}

export async function roleOfUser(db: Db, id: string): Promise<UserRow["role"] | undefined> {
  return (await db.selectFrom("users").select("role").where("id", "=", id).executeTakeFirst())?.role;
}

/** Oldest first; `query` matches inside email or username (already lower case). */
export async function listUsers(db: Db, query: string, page: Page): Promise<UserRow[]> {
  let q = db.selectFrom("users").selectAll();
  if (query) {
    const like = `%${query.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    q = q.where((eb) => eb.or([eb(eb.fn("lower", ["email"]), "like", like), eb(eb.fn("lower", ["username"]), "like", like)]));
  }
  return q.where(afterCursor(page)).orderBy("created_at").orderBy("id").limit(page.limit + 1).execute();
}

export async function lockUser(db: Db, id: string) {
  return db.selectFrom("users").select("disabled_at").where("id", "=", id).forUpdate().executeTakeFirst();
}

/** What a token is checked against. */
export async function accessRow(db: Db, id: string) {
  return db.selectFrom("users").select(["token_version", "disabled_at"]).where("id", "=", id).executeTakeFirst();
}

/** Where a mail to the user goes, and whether their address is proven. */
export async function mailbox(db: Db, id: string) {
  return db.selectFrom("users").select(["email", "username", "email_verified_at"]).where("id", "=", id).executeTakeFirstOrThrow();
}

/** The first proof of the mailbox counts; `admin` also makes the account an admin. */
export async function setVerified(db: Db, id: string, admin: boolean): Promise<UserRow> {
  return db
    .updateTable("users")
    .set((eb) => ({ email_verified_at: eb.fn.coalesce("email_verified_at", eb.val(new Date())), ...(admin ? { role: "admin" as const } : {}) }))
    .where("id", "=", id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The key's owner, with the key's id and when it was last used. */
export async function findKeyOwner(db: Db, keyHash: string) {
  return db
    .selectFrom("api_keys as k")
    .innerJoin("users as u", "u.id", "k.user_id")
    .selectAll("u")
    .select(["k.id as key_id", "k.last_used_at as key_last_used_at"])
    .where("k.key_hash", "=", keyHash)
    .executeTakeFirst();
}

export async function touchApiKey(db: Db, id: string): Promise<void> {
  await db.updateTable("api_keys").set({ last_used_at: new Date() }).where("id", "=", id).execute();
}

export async function insertApiKey(db: Db, userId: string, name: string, prefix: string, keyHash: string) {
  return db.insertInto("api_keys").values({ user_id: userId, name, prefix, key_hash: keyHash }).returningAll().executeTakeFirstOrThrow();
}

export async function listApiKeys(db: Db, userId: string) {
  return db.selectFrom("api_keys").selectAll().where("user_id", "=", userId).orderBy("created_at").orderBy("id").execute();
}

/** False when the user has no such key. */
export async function deleteApiKey(db: Db, id: string, userId: string): Promise<boolean> {
  const res = await db.deleteFrom("api_keys").where("id", "=", id).where("user_id", "=", userId).executeTakeFirst();
  return res.numDeletedRows > 0n;
}

/** The projects the user is a member of, and those they created (account deletion). */
export async function projectsOf(db: Db, userId: string): Promise<{ mine: string[]; created: string[] }> {
  const mine = await db.selectFrom("project_members").select("project_id").where("user_id", "=", userId).execute();
  const created = await db.selectFrom("projects").select("id").where("owner_id", "=", userId).execute();
  return { mine: mine.map((m) => m.project_id), created: created.map((p) => p.id) };
}

/** Locks the projects' rows in id order. */
export async function lockProjects(db: Db, ids: string[]): Promise<void> {
  if (ids.length) await db.selectFrom("projects").select("id").where("id", "in", ids).orderBy("id").forUpdate().execute();
}

/** Every member of the projects, longest-standing first. */
export async function membersOf(db: Db, projectIds: string[]) {
  if (projectIds.length === 0) return [];
  return db.selectFrom("project_members").select(["project_id", "user_id", "role"]).where("project_id", "in", projectIds).orderBy("created_at").orderBy("user_id").execute();
}

export async function setProjectOwner(db: Db, projectId: string, ownerId: string): Promise<void> {
  await db.updateTable("projects").set({ owner_id: ownerId }).where("id", "=", projectId).execute();
}

export async function deleteProjects(db: Db, ids: string[]): Promise<void> {
  if (ids.length) await db.deleteFrom("projects").where("id", "in", ids).execute();
}

export async function deleteUser(db: Db, id: string): Promise<void> {
  await db.deleteFrom("users").where("id", "=", id).execute();
}

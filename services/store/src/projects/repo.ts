import { sql, type Kysely } from "kysely";
import type { Database, ProjectRow, Role } from "../db/schema.js";
import type { Page } from "../input/page.js";
import type { MemberView } from "./map.js";
import type { checkCreate, checkUpdate } from "./validate.js";

type Db = Kysely<Database>;

export async function findProject(db: Db, id: string): Promise<ProjectRow | undefined> {
  return db.selectFrom("projects").selectAll().where("id", "=", id).where("deleted_at", "is", null).executeTakeFirst();
}

/** The project and its owner's membership. */
export async function insertProject(db: Db, values: ReturnType<typeof checkCreate>, ownerId: string): Promise<ProjectRow> {
  const p = await db.insertInto("projects").values({ ...values, owner_id: ownerId }).returningAll().executeTakeFirstOrThrow();
  await db.insertInto("project_members").values({ project_id: p.id, user_id: ownerId, role: "owner" }).execute();
  return p;
}

/** The user's live projects with their role, oldest first. */
export async function listProjectsOf(db: Db, userId: string, status: "active" | "archived" | undefined, page: Page) {
  let q = db
    .selectFrom("project_members as m")
    .innerJoin("projects as p", "p.id", "m.project_id")
    .selectAll("p")
    .select("m.role")
    .where("m.user_id", "=", userId)
    .where("p.deleted_at", "is", null);
  if (status) q = q.where("p.status", "=", status);
  if (page.after) q = q.where(sql<boolean>`(p.created_at, p.id) > (${page.after.at}, ${page.after.id})`);
  return q.orderBy("p.created_at").orderBy("p.id").limit(page.limit + 1).execute();
}

export async function patchProject(db: Db, id: string, patch: ReturnType<typeof checkUpdate>): Promise<ProjectRow | undefined> {
  return db
    .updateTable("projects")
    .set({ ...patch, updated_at: new Date() })
    .where("id", "=", id)
    .where("deleted_at", "is", null)
    .returningAll()
    .executeTakeFirst();
}

/** Soft delete: membership checks treat it as gone at once; the rows stay for recovery. */
export async function hideProject(db: Db, id: string): Promise<boolean> {
  const p = await db.updateTable("projects").set({ deleted_at: new Date() }).where("id", "=", id).where("deleted_at", "is", null).returning("id").executeTakeFirst();
  return p !== undefined;
}

/** Locks the live project's row (members of one project change one at a time); false when it is gone. */
export async function lockProject(db: Db, id: string): Promise<boolean> {
  const p = await db.selectFrom("projects").select("id").where("id", "=", id).where("deleted_at", "is", null).forUpdate().executeTakeFirst();
  return p !== undefined;
}

export async function countOwners(db: Db, projectId: string): Promise<number> {
  const { n } = await db
    .selectFrom("project_members")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("project_id", "=", projectId)
    .where("role", "=", "owner")
    .executeTakeFirstOrThrow();
  return n;
}

export async function memberIdsOf(db: Db, projectId: string): Promise<string[]> {
  const rows = await db.selectFrom("project_members").select("user_id").where("project_id", "=", projectId).execute();
  return rows.map((m) => m.user_id);
}

export async function roleOf(db: Db, projectId: string, userId: string): Promise<Role | undefined> {
  const row = await db.selectFrom("project_members").select("role").where("project_id", "=", projectId).where("user_id", "=", userId).executeTakeFirst();
  return row?.role;
}

export async function userExists(db: Db, userId: string): Promise<boolean> {
  return (await db.selectFrom("users").select("id").where("id", "=", userId).executeTakeFirst()) !== undefined;
}

export async function upsertMember(db: Db, projectId: string, userId: string, role: Role): Promise<void> {
  await db
    .insertInto("project_members")
    .values({ project_id: projectId, user_id: userId, role })
    .onConflict((oc) => oc.columns(["project_id", "user_id"]).doUpdateSet({ role }))
    .execute();
}

export async function deleteMember(db: Db, projectId: string, userId: string): Promise<void> {
  await db.deleteFrom("project_members").where("project_id", "=", projectId).where("user_id", "=", userId).execute();
}

function memberQuery(db: Db, projectId: string) {
  return db
    .selectFrom("project_members as m")
    .innerJoin("users as u", "u.id", "m.user_id")
    .select(["m.project_id", "m.user_id", "u.username", "u.email", "m.role", "m.created_at"])
    .where("m.project_id", "=", projectId);
}

/** The project's members as listed, in the order they joined. */
export async function listMembers(db: Db, projectId: string): Promise<MemberView[]> {
  return memberQuery(db, projectId).orderBy("m.created_at").orderBy("m.user_id").execute();
}

/** One member as listed (read inside the transaction that changed them). */
export async function memberView(db: Db, projectId: string, userId: string): Promise<MemberView | undefined> {
  return memberQuery(db, projectId).where("m.user_id", "=", userId).executeTakeFirst();
}

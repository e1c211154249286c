import { sql, type Kysely, type QueryCreator } from "kysely";
import type { ChangeType, ConnectionRow, Database, NewNode, NodeRow, NodeVersionRow } from "../db/schema.js";
import { LIMITS } from "@sker/contracts/limits";
import { afterCursor, nowMs } from "../db/sql.js";
import type { Page } from "../input/page.js";
import type { NodeFilter, NodePatch } from "./validate.js";

type Db = Kysely<Database>;

export async function findNode(db: Db, id: string, { withDeleted = false, lock = false } = {}): Promise<NodeRow | undefined> {
  let q = db.selectFrom("nodes").selectAll().where("id", "=", id);
  if (!withDeleted) q = q.where("deleted_at", "is", null);
  if (lock) q = q.forUpdate();
  return q.executeTakeFirst();
}

/**
 * The live nodes among `ids` that belong to `projectId`, in (created_at, id) order. With `share`
 * they stay live until the transaction ends (a concurrent delete waits, or wins and they drop out).
 */
export async function liveNodesIn(db: Db, projectId: string, ids: string[], { share = false } = {}): Promise<NodeRow[]> {
  if (ids.length === 0) return [];
  let q = db
    .selectFrom("nodes")
    .selectAll()
    .where("project_id", "=", projectId)
    .where("id", "in", ids)
    .where("deleted_at", "is", null)
    .orderBy("created_at")
    .orderBy("id");
  if (share) q = q.forShare();
  return q.execute();
}

/** True when making `parentId` the parent of `id` would close a loop. */
export async function wouldCycle(db: Db, id: string, parentId: string): Promise<boolean> {
  const hit = await sql<{ id: string }>`
    WITH RECURSIVE up(id, parent_id, depth) AS (
      SELECT id, parent_id, 1 FROM nodes WHERE id = ${parentId}
      UNION ALL
      SELECT n.id, n.parent_id, up.depth + 1 FROM nodes n JOIN up ON n.id = up.parent_id WHERE up.depth < 1000
    )
    SELECT id FROM up WHERE id = ${id} LIMIT 1`.execute(db);
  return hit.rows.length > 0;
}

/** Who made a version: the user, the AI task and the graph run behind it. */
export interface VersionBy {
  changeType: ChangeType;
  createdBy: string | null;
  taskId?: string | null;
  runId?: string | null;
}

/** A node_versions row copied from the node that the CTE `n` wrote (insertNode, patchNode). */
function versionOf(q: QueryCreator<Database & { n: NodeRow }>, by: VersionBy) {
  return q
    .insertInto("node_versions")
    .columns(["node_id", "version", "title", "content", "change_type", "created_by", "task_id", "run_id", "created_at"])
    .expression((eb) =>
      eb
        .selectFrom("n")
        .select([
          "n.id",
          "n.version",
          "n.title",
          "n.content",
          sql<ChangeType>`${by.changeType}::text`.as("change_type"),
          sql<string | null>`${by.createdBy}::uuid`.as("created_by"),
          sql<string | null>`${by.taskId ?? null}::uuid`.as("task_id"),
          sql<string | null>`${by.runId ?? null}::uuid`.as("run_id"),
          nowMs.as("created_at"),
        ]),
    );
}

/** The node and its first version, in one statement. */
export async function insertNode(db: Db, values: NewNode, by: VersionBy): Promise<NodeRow> {
  return db
    .with("n", (q) => q.insertInto("nodes").values({ ...values, created_at: nowMs, updated_at: nowMs }).returningAll())
    .with("v", (q) => versionOf(q, by))
    .selectFrom("n")
    .selectAll()
    .executeTakeFirstOrThrow();
}

/** Applies a patch and bumps the version by one; with `version`, writes the version row in the same statement. */
export async function patchNode(db: Db, id: string, patch: NodePatch & { run_hash?: string | null }, version?: VersionBy): Promise<NodeRow> {
  const update = (q: QueryCreator<Database>) => q.updateTable("nodes").set({ ...patch, version: sql`version + 1`, updated_at: nowMs }).where("id", "=", id).returningAll();
  if (!version) return update(db).executeTakeFirstOrThrow();
  return db
    .with("n", update)
    .with("v", (q) => versionOf(q, version))
    .selectFrom("n")
    .selectAll()
    .executeTakeFirstOrThrow();
}

/** What a node weighs against LIMITS.page.bytes: its text and its metadata. */
export const rowBytes = sql<number>`octet_length(title) + octet_length(content) + octet_length(metadata::text)`;

/**
 * A page of nodes, cut to LIMITS.page.bytes: sizes are read first and only the rows that fit
 * (and the one after, for the cursor) are read whole. Answers the rows and how many the page
 * keeps, for pageOf.
 */
export async function listNodes(db: Db, f: NodeFilter): Promise<{ rows: NodeRow[]; keep: number }> {
  const sizes = await filtered(db, f)
    .select(["id", rowBytes.as("bytes")])
    .orderBy("created_at")
    .orderBy("id")
    .limit(f.page.limit + 1)
    .execute();
  let keep = 0;
  let used = 0;
  for (const s of sizes.slice(0, f.page.limit)) {
    used += Number(s.bytes);
    if (keep > 0 && used > LIMITS.page.bytes) break;
    keep++;
  }
  const ids = sizes.slice(0, keep + 1).map((s) => s.id);
  if (ids.length === 0) return { rows: [], keep };
  const rows = await db.selectFrom("nodes").selectAll().where("id", "in", ids).orderBy("created_at").orderBy("id").execute();
  return { rows, keep };
}

/** The live nodes a list asks for, after its cursor (no order, no limit, no columns yet). */
export function filtered(db: Db, f: NodeFilter) {
  let q = db
    .selectFrom("nodes")
    .where("project_id", "=", f.projectId)
    .where("deleted_at", "is", null)
    .where(afterCursor(f.page));
  if (f.status) q = q.where("status", "=", f.status);
  if (f.tag) q = q.where(sql<boolean>`tags @> ARRAY[${f.tag}]::text[]`);
  if (f.q) {
    const pattern = `%${f.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    q = q.where((eb) => eb.or([eb("title", "ilike", pattern), eb("content", "ilike", pattern)]));
  }
  return q;
}

/** Live nodes among `ids` in projects where `userId` is a member. */
export async function visibleNodes(db: Db, ids: string[], userId: string): Promise<NodeRow[]> {
  if (ids.length === 0) return [];
  return db
    .selectFrom("nodes as n")
    .innerJoin("project_members as m", (j) => j.onRef("m.project_id", "=", "n.project_id").on("m.user_id", "=", userId))
    .innerJoin("projects as p", "p.id", "n.project_id")
    .selectAll("n")
    .where("n.id", "in", ids)
    .where("n.deleted_at", "is", null)
    .where("p.deleted_at", "is", null)
    .execute();
}

export async function liveNodesOfProject(db: Db, projectId: string): Promise<NodeRow[]> {
  return db.selectFrom("nodes").selectAll().where("project_id", "=", projectId).where("deleted_at", "is", null).orderBy("created_at").orderBy("id").execute();
}

/** Hides the node and its visible connections; answers the connections it hid. */
export async function softDelete(db: Db, id: string): Promise<ConnectionRow[]> {
  await db.updateTable("nodes").set({ deleted_at: nowMs, updated_at: nowMs }).where("id", "=", id).execute();
  return db
    .updateTable("connections")
    .set({ deleted_at: nowMs })
    .where((eb) => eb.or([eb("source_node_id", "=", id), eb("target_node_id", "=", id)]))
    .where("deleted_at", "is", null)
    .returningAll()
    .execute();
}

/** Shows the node again, and those of its connections whose other end is live too. */
export async function restore(db: Db, id: string): Promise<{ node: NodeRow; connections: ConnectionRow[] }> {
  const node = await db
    .updateTable("nodes")
    .set({ deleted_at: null, updated_at: nowMs })
    .where("id", "=", id)
    .returningAll()
    .executeTakeFirstOrThrow();
  const connections = await db
    .updateTable("connections as c")
    .set({ deleted_at: null })
    .where((eb) => eb.or([eb("c.source_node_id", "=", id), eb("c.target_node_id", "=", id)]))
    .where("c.deleted_at", "is not", null)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom("nodes as o")
            .select("o.id")
            .where(sql<boolean>`o.id IN (c.source_node_id, c.target_node_id)`)
            .where("o.deleted_at", "is not", null),
        ),
      ),
    )
    .returningAll()
    .execute();
  return { node, connections };
}

/** Removes the node for good (versions and connections go with it, by FK). */
export async function hardDelete(db: Db, id: string): Promise<{ connections: ConnectionRow[]; orphans: NodeRow[] }> {
  const connections = await db
    .deleteFrom("connections")
    .where((eb) => eb.or([eb("source_node_id", "=", id), eb("target_node_id", "=", id)]))
    .returningAll()
    .execute();
  // Children lose their parent: a visible change, so it bumps their version like any other.
  const orphans = await db
    .updateTable("nodes")
    .set({ parent_id: null, version: sql`version + 1`, updated_at: nowMs })
    .where("parent_id", "=", id)
    .returningAll()
    .execute();
  await db.deleteFrom("nodes").where("id", "=", id).execute();
  return { connections, orphans };
}

/** Newest first; the cursor's id is the last version number seen. */
export async function listVersions(db: Db, nodeId: string, page: Page, beforeVersion: number | undefined): Promise<NodeVersionRow[]> {
  let q = db.selectFrom("node_versions").selectAll().where("node_id", "=", nodeId);
  if (beforeVersion !== undefined) q = q.where("version", "<", beforeVersion);
  return q.orderBy("version", "desc").limit(page.limit + 1).execute();
}

export async function findVersion(db: Db, nodeId: string, version: number): Promise<NodeVersionRow | undefined> {
  return db.selectFrom("node_versions").selectAll().where("node_id", "=", nodeId).where("version", "=", version).executeTakeFirst();
}

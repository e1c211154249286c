import { type Kysely } from "kysely";
import type { ConnectionRow, ConnectionType, Database } from "../db/schema.js";
import { afterCursor, nowMs } from "../db/sql.js";
import type { ConnectionFilter, ConnectionPatch } from "./validate.js";

type Db = Kysely<Database>;

/** PostgreSQL's unique_violation: the (source, target, type) triple is taken. */

export async function findConnection(db: Db, id: string, { lock = false } = {}): Promise<ConnectionRow | undefined> {
  let q = db.selectFrom("connections").selectAll().where("id", "=", id).where("deleted_at", "is", null);
  if (lock) q = q.forUpdate();
  return q.executeTakeFirst();
}

export async function insertConnection(
  db: Db,
  v: { projectId: string; sourceNodeId: string; targetNodeId: string; type: ConnectionType; label?: string; weight?: number; createdBy: string | null },
): Promise<ConnectionRow | undefined> {
  return db
    .insertInto("connections")
    .values({
      project_id: v.projectId,
      source_node_id: v.sourceNodeId,
      target_node_id: v.targetNodeId,
      type: v.type,
      label: v.label ?? "",
      weight: v.weight ?? 1,
      created_by: v.createdBy,
      created_at: nowMs,
      updated_at: nowMs,
    })
    // A taken (source, target, type) answers no row rather than aborting the transaction.
    .onConflict((oc) => oc.columns(["source_node_id", "target_node_id", "type"]).doNothing())
    .returningAll()
    .executeTakeFirst();
}

export async function patchConnection(db: Db, id: string, patch: ConnectionPatch): Promise<ConnectionRow> {
  return db.updateTable("connections").set({ ...patch, updated_at: nowMs }).where("id", "=", id).returningAll().executeTakeFirstOrThrow();
}

export async function deleteConnection(db: Db, id: string): Promise<void> {
  await db.deleteFrom("connections").where("id", "=", id).execute();
}

export async function listConnections(db: Db, f: ConnectionFilter): Promise<ConnectionRow[]> {
  return listed(db, f).selectAll().execute();
}

/** The rows of a list page and the one after (for the cursor), in (created_at, id) order; no columns yet. */
export function listed(db: Db, f: ConnectionFilter) {
  let q = db.selectFrom("connections").where("project_id", "=", f.projectId).where("deleted_at", "is", null).where(afterCursor(f.page));
  const nodeId = f.nodeId;
  if (nodeId) q = q.where((eb) => eb.or([eb("source_node_id", "=", nodeId), eb("target_node_id", "=", nodeId)]));
  return q.orderBy("created_at").orderBy("id").limit(f.page.limit + 1);
}

export async function liveConnectionsOfProject(db: Db, projectId: string): Promise<ConnectionRow[]> {
  return db
    .selectFrom("connections")
    .selectAll()
    .where("project_id", "=", projectId)
    .where("deleted_at", "is", null)
    .orderBy("created_at")
    .orderBy("id")
    .execute();
}

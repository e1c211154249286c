import { sql, type Kysely, type UpdateObject } from "kysely";
import type { Database, NodeRow, RunNodeRow, RunNodeState, RunRow } from "../db/schema.js";
import { beforeCursor, nowMs } from "../db/sql.js";
import type { Page } from "../input/page.js";

type Db = Kysely<Database>;

/** The connection types that make a node an input of an AI node. */
export const INPUT_LINKS = ["input", "dependency"] as const;

export async function aiNodesOfProject(db: Db, projectId: string): Promise<Pick<NodeRow, "id" | "created_at" | "title" | "recipe">[]> {
  return db
    .selectFrom("nodes")
    .select(["id", "created_at", "title", "recipe"])
    .where("project_id", "=", projectId)
    .where("deleted_at", "is", null)
    .where("recipe", "is not", null)
    .execute();
}

export async function inputLinksOfProject(db: Db, projectId: string): Promise<{ from: string; to: string }[]> {
  return db
    .selectFrom("connections")
    .select(["source_node_id as from", "target_node_id as to"])
    .where("project_id", "=", projectId)
    .where("deleted_at", "is", null)
    .where("type", "in", [...INPUT_LINKS])
    .execute();
}

/** The live nodes linked into `nodeId` by input/dependency links, in (created_at, id) order: the AI's context order. */
export async function inputsOf(db: Db, projectId: string, nodeId: string): Promise<NodeRow[]> {
  return db
    .selectFrom("nodes as n")
    .selectAll("n")
    .where("n.project_id", "=", projectId)
    .where("n.deleted_at", "is", null)
    .where("n.id", "!=", nodeId)
    .where(({ exists, selectFrom }) =>
      exists(
        selectFrom("connections as c")
          .select("c.id")
          .whereRef("c.source_node_id", "=", "n.id")
          .where("c.target_node_id", "=", nodeId)
          .where("c.deleted_at", "is", null)
          .where("c.type", "in", [...INPUT_LINKS]),
      ),
    )
    .orderBy("n.created_at")
    .orderBy("n.id")
    .execute();
}

/** Each node's newest content version (title or content change); a newer one later is someone's edit. */
export async function contentVersions(db: Db, nodeIds: string[]): Promise<Map<string, number>> {
  if (nodeIds.length === 0) return new Map();
  const rows = await db
    .selectFrom("node_versions")
    .select(["node_id", sql<number>`max(version)::int`.as("v")])
    .where("node_id", "in", nodeIds)
    .groupBy("node_id")
    .execute();
  return new Map(rows.map((r) => [r.node_id, Number(r.v)]));
}

export async function insertRun(db: Db, v: { projectId: string; targets: string[]; force: boolean; userId: string }): Promise<RunRow> {
  return db
    .insertInto("runs")
    .values({ project_id: v.projectId, targets: v.targets, force: v.force, created_by: v.userId, created_at: nowMs, updated_at: nowMs })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function insertRunNodes(db: Db, rows: { run_id: string; node_id: string; ord: number; depends_on: string[]; base_version: number; estimated_cost_usd: number }[]): Promise<void> {
  // Chunked: PostgreSQL takes at most 65,535 parameters a statement.
  for (let i = 0; i < rows.length; i += 1_000) await db.insertInto("run_nodes").values(rows.slice(i, i + 1_000)).execute();
}

export async function findRun(db: Db, id: string, { lock = false } = {}): Promise<RunRow | undefined> {
  let q = db.selectFrom("runs").selectAll().where("id", "=", id);
  if (lock) q = q.forUpdate();
  return q.executeTakeFirst();
}

export async function runNodesOf(db: Db, runIds: string[]): Promise<RunNodeRow[]> {
  if (runIds.length === 0) return [];
  return db.selectFrom("run_nodes").selectAll().where("run_id", "in", runIds).orderBy("run_id").orderBy("ord").execute();
}

export async function findRunNodeOfTask(db: Db, runId: string, taskId: string): Promise<RunNodeRow | undefined> {
  return db.selectFrom("run_nodes").selectAll().where("run_id", "=", runId).where("task_id", "=", taskId).executeTakeFirst();
}

export async function setRunNode(db: Db, runId: string, nodeId: string, set: UpdateObject<Database, "run_nodes">, onlyFrom?: RunNodeState[]): Promise<RunNodeRow | undefined> {
  let q = db.updateTable("run_nodes").set(set).where("run_id", "=", runId).where("node_id", "=", nodeId);
  if (onlyFrom) q = q.where("state", "in", onlyFrom);
  return q.returningAll().executeTakeFirst();
}

export async function setRun(db: Db, id: string, set: UpdateObject<Database, "runs">): Promise<RunRow> {
  return db.updateTable("runs").set({ ...set, updated_at: nowMs }).where("id", "=", id).returningAll().executeTakeFirstOrThrow();
}

/** Newest first. */
export async function listRuns(db: Db, projectId: string, page: Page): Promise<RunRow[]> {
  const q = db.selectFrom("runs").selectAll().where("project_id", "=", projectId).where(beforeCursor(page));
  return q.orderBy("created_at", "desc").orderBy("id", "desc").limit(page.limit + 1).execute();
}

/** The unfinished tasks of a run, locked in id order (the order every run-wide lock takes them). */
export async function lockOpenTasksOfRun(db: Db, runId: string) {
  return db.selectFrom("tasks").selectAll().where("run_id", "=", runId).where("status", "in", ["queued", "running"]).orderBy("id").forUpdate().execute();
}

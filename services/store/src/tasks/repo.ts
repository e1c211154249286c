import { sql, type Kysely, type UpdateObject } from "kysely";
import type { Database, NodeRow, TaskRow } from "../db/schema.js";
import { beforeCursor, msFromNow, nowMs } from "../db/sql.js";
import type { NewTaskInput, TaskFilter } from "./validate.js";

type Db = Kysely<Database>;

export async function findTask(db: Db, id: string, { lock = false } = {}): Promise<TaskRow | undefined> {
  let q = db.selectFrom("tasks").selectAll().where("id", "=", id);
  if (lock) q = q.forUpdate();
  return q.executeTakeFirst();
}

export async function findByKey(db: Db, userId: string, key: string): Promise<TaskRow | undefined> {
  return db.selectFrom("tasks").selectAll().where("created_by", "=", userId).where("idempotency_key", "=", key).executeTakeFirst();
}

/**
 * Inserts the task and its queue message (a task_dispatches row the brokers' relays publish)
 * in one statement, or nothing when the user already used this idempotency key: the unique
 * index decides, so two racing submits cannot both insert (the second waits for the first).
 */
export async function insertTask(db: Db, t: NewTaskInput, userId: string, runId: string | null, trace: Record<string, string>): Promise<TaskRow | undefined> {
  return db
    .with("t", () => newTaskInsert(db, t, userId, runId))
    .with("d", (q) =>
      q
        .insertInto("task_dispatches")
        .columns(["task_id", "trace"])
        .expression((eb) => eb.selectFrom("t").select(["t.id", sql<string>`${JSON.stringify(trace)}::jsonb`.as("trace")])),
    )
    .selectFrom("t")
    .selectAll()
    .executeTakeFirst();
}

/** The task row's insert, nothing when the idempotency key was used already; answers the row. */
export function newTaskInsert(db: Db, t: NewTaskInput, userId: string, runId: string | null) {
  return db
    .insertInto("tasks")
    .values({
      project_id: t.projectId,
      type: t.type,
      priority: t.priority,
      node_id: t.nodeId,
      source_node_ids: t.sourceNodeIds,
      prompt: t.prompt,
      options: JSON.stringify(t.options),
      created_by: userId,
      idempotency_key: t.idempotencyKey,
      retry_of: t.retryOf,
      run_id: runId,
      estimated_cost_usd: t.estimatedCostUsd ?? 0,
      created_at: nowMs,
      updated_at: nowMs,
      enqueued_at: nowMs,
    })
    .onConflict((oc) => oc.columns(["created_by", "idempotency_key"]).where("idempotency_key", "is not", null).doNothing())
    .returningAll();
}

/** Newest first. */
export async function listTasks(db: Db, f: TaskFilter): Promise<TaskRow[]> {
  let q = db.selectFrom("tasks").selectAll().where("project_id", "=", f.projectId).where(beforeCursor(f.page));
  if (f.status) q = q.where("status", "=", f.status);
  return q.orderBy("created_at", "desc").orderBy("id", "desc").limit(f.page.limit + 1).execute();
}

export async function setTask(db: Db, id: string, set: UpdateObject<Database, "tasks">): Promise<TaskRow> {
  return db.updateTable("tasks").set({ ...set, updated_at: nowMs }).where("id", "=", id).returningAll().executeTakeFirstOrThrow();
}

/** Takes the lease if the task is queued, or running under a lease that has run out. */
export async function takeLease(db: Db, id: string, workerId: string, leaseMs: number): Promise<TaskRow | undefined> {
  return db
    .updateTable("tasks")
    .set({
      status: "running",
      lease_owner: workerId,
      lease_expires_at: msFromNow(leaseMs),
      attempts: sql`attempts + 1`,
      started_at: sql`coalesce(started_at, ${nowMs})`,
      updated_at: nowMs,
    })
    .where("id", "=", id)
    .where((eb) => eb.or([eb("status", "=", "queued"), eb.and([eb("status", "=", "running"), eb("lease_expires_at", "<", sql<Date>`now()`)])]))
    .returningAll()
    .executeTakeFirst();
}

/** Extends the lease only for the worker that holds it, on a task still running. */
export async function renewLease(db: Db, id: string, workerId: string, leaseMs: number): Promise<TaskRow | undefined> {
  return db
    .updateTable("tasks")
    .set({ lease_expires_at: msFromNow(leaseMs), updated_at: nowMs })
    .where("id", "=", id)
    .where("status", "=", "running")
    .where("lease_owner", "=", workerId)
    .returningAll()
    .executeTakeFirst();
}

/**
 * Tasks to hand out again: running with a lapsed lease, or queued and not started for
 * `queuedAfterMs`. SKIP LOCKED plus the enqueued_at bump keep two brokers from taking one.
 */
export async function reclaim(db: Db, queuedAfterMs: number, limit: number): Promise<{ before: TaskRow; after: TaskRow }[]> {
  const picked = await db
    .selectFrom("tasks")
    .selectAll()
    .where((eb) =>
      eb.or([
        eb.and([eb("status", "=", "running"), eb("lease_expires_at", "<", sql<Date>`now()`)]),
        eb.and([eb("status", "=", "queued"), eb("enqueued_at", "<", msFromNow(-queuedAfterMs))]),
      ]),
    )
    .orderBy("enqueued_at")
    .limit(limit)
    .forUpdate()
    .skipLocked()
    .execute();
  if (picked.length === 0) return [];
  const updated = await db
    .updateTable("tasks")
    .set({ status: "queued", lease_owner: null, lease_expires_at: null, enqueued_at: nowMs, updated_at: nowMs })
    .where(
      "id",
      "in",
      picked.map((t) => t.id),
    )
    .returningAll()
    .execute();
  const byId = new Map(updated.map((t) => [t.id, t]));
  return picked.map((before) => ({ before, after: byId.get(before.id)! }));
}

/** An upstream node as the context budget sees it: its size and relevance, not its content. */
export interface UpstreamCandidate {
  id: string;
  chars: number;
  importance: number;
  /** The heaviest live connection from it into the target (0 for a bare source). */
  weight: number;
  source: boolean;
  created_at: Date;
}

/**
 * The AI's possible context: live nodes with a live connection into `nodeId`, plus the task's
 * own sources, minus the target itself; in (created_at, id) order so every attempt sees the
 * same. Sizes only: the content of what is kept is read afterwards (nodesInOrder).
 */
export async function upstreamCandidates(db: Db, projectId: string, nodeId: string | null, sourceIds: string[]): Promise<UpstreamCandidate[]> {
  if (!nodeId && sourceIds.length === 0) return [];
  const weight = nodeId
    ? sql<number>`coalesce((select max(c.weight) from connections c where c.source_node_id = n.id and c.target_node_id = ${nodeId}::uuid and c.deleted_at is null), 0)`
    : sql<number>`0`;
  const rows = await db
    .selectFrom("nodes as n")
    .select(["n.id", "n.importance", "n.created_at"])
    .select(sql<number>`char_length(n.title) + char_length(n.content)`.as("chars"))
    .select(weight.as("weight"))
    .where("n.project_id", "=", projectId)
    .where("n.deleted_at", "is", null)
    .where((eb) => {
      const ors = [];
      if (sourceIds.length) ors.push(eb("n.id", "in", sourceIds));
      if (nodeId) {
        ors.push(
          eb.exists(
            eb
              .selectFrom("connections as c")
              .select("c.id")
              .whereRef("c.source_node_id", "=", "n.id")
              .where("c.target_node_id", "=", nodeId)
              .where("c.deleted_at", "is", null),
          ),
        );
      }
      return eb.or(ors);
    })
    .$if(nodeId !== null, (q) => q.where("n.id", "!=", nodeId!))
    .orderBy("n.created_at")
    .orderBy("n.id")
    .execute();
  const sources = new Set(sourceIds);
  return rows.map((r) => ({ ...r, chars: Number(r.chars), weight: Number(r.weight), source: sources.has(r.id) }));
}

/** Whole rows of the given nodes, in (created_at, id) order. */
export async function nodesInOrder(db: Db, ids: string[]): Promise<NodeRow[]> {
  if (ids.length === 0) return [];
  return db.selectFrom("nodes").selectAll().where("id", "in", ids).orderBy("created_at").orderBy("id").execute();
}

/** Running tasks of one project and of one user (the fairness caps), other than `exceptId`. */
export async function runningCounts(db: Db, projectId: string, userId: string, exceptId: string): Promise<{ project: number; user: number }> {
  const row = await db
    .selectFrom("tasks")
    .select([
      sql<number>`count(*) filter (where project_id = ${projectId}::uuid)`.as("project"),
      sql<number>`count(*) filter (where created_by = ${userId}::uuid)`.as("user"),
    ])
    .where("status", "=", "running")
    .where("id", "!=", exceptId)
    .where((eb) => eb.or([eb("project_id", "=", projectId), eb("created_by", "=", userId)]))
    .executeTakeFirstOrThrow();
  return { project: Number(row.project), user: Number(row.user) };
}

/** The task queue's outbox row, in the caller's transaction (the task's own). */
export async function addDispatches(db: Db, taskIds: string[], opts: { reclaimed?: boolean; trace?: Record<string, string> } = {}): Promise<void> {
  if (taskIds.length === 0) return;
  await db
    .insertInto("task_dispatches")
    .values(taskIds.map((task_id) => ({ task_id, reclaimed: opts.reclaimed ?? false, trace: JSON.stringify(opts.trace ?? {}) })))
    .execute();
}

export type ClaimedDispatch = { id: number; task_id: string; reclaimed: boolean; trace: Record<string, string>; project_id: string; priority: TaskRow["priority"] };

/** Oldest unclaimed (or lapsed) rows first, each claimed for `leaseMs`; SKIP LOCKED keeps relays apart. */
export async function claimDispatches(db: Db, limit: number, leaseMs: number): Promise<ClaimedDispatch[]> {
  const { rows } = await sql<ClaimedDispatch>`
    WITH picked AS (
      SELECT id FROM task_dispatches
      WHERE claimed_until IS NULL OR claimed_until < now()
      ORDER BY id LIMIT ${limit}
      FOR UPDATE SKIP LOCKED
    ), claimed AS (
      UPDATE task_dispatches d SET claimed_until = now() + ${leaseMs}::int * interval '1 millisecond'
      FROM picked WHERE d.id = picked.id
      RETURNING d.id, d.task_id, d.reclaimed, d.trace
    )
    SELECT c.id, c.task_id, c.reclaimed, c.trace, t.project_id, t.priority
    FROM claimed c JOIN tasks t ON t.id = c.task_id
    ORDER BY c.id
  `.execute(db);
  return rows;
}

export async function deleteDispatches(db: Db, ids: number[]): Promise<void> {
  if (ids.length === 0) return;
  await db.deleteFrom("task_dispatches").where("id", "in", ids).execute();
}

/** Seconds the oldest queued task has waited since it was last (re)queued; 0 when none waits. */
export async function oldestQueuedSeconds(db: Db): Promise<number> {
  const row = await db
    .selectFrom("tasks")
    .select(sql<number>`coalesce(extract(epoch from now() - min(enqueued_at)), 0)::float8`.as("seconds"))
    .where("status", "=", "queued")
    .executeTakeFirstOrThrow();
  return Number(row.seconds);
}

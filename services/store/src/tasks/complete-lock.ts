import { notFound } from "@sker/kit";
import { sql, type Transaction } from "kysely";
import type { Database, NodeRow, TaskRow } from "../db/schema.js";
import type { Usage } from "../quotas/repo.js";
import { ownTitle, type CleanOutput } from "./apply.js";

type Trx = Transaction<Database>;

export interface Locked {
  task: TaskRow;
  /** The project's usage before this transaction's node writes: the quota check's starting point. */
  usage: Usage;
  /** The transaction's clock, which every nowMs of it reads. */
  now: Date;
  /** The node a plain generate's output became in the same statement (see lockForComplete). */
  made?: NodeRow;
}

/**
 * CompleteTask's first statement: the task locked, its project's usage and the transaction's
 * clock. For the most common task, a generate of a new node from a prompt alone (no target,
 * no sources, no graph run), the new node and its first version are written by this statement
 * too, only if the task is still this worker's running task: the row lock is taken before the
 * insert reads it, so a redelivered or stale completion writes nothing. What the node is does
 * not depend on the task beyond its project and user, except a title taken from the prompt:
 * an output without a title of its own goes the long way (applyOutput).
 */
export async function lockForComplete(trx: Trx, id: string, workerId: string, output: CleanOutput): Promise<Locked> {
  const title = ownTitle(output);
  const make = title
    ? sql`, made AS (
        INSERT INTO nodes (project_id, title, content, tags, ai_generated, status, created_by, position_x, position_y, created_at, updated_at)
        SELECT project_id, ${title}::text, ${output.content}::text, ${output.tags}::text[], true, 'completed', created_by, 0, 0, tx_now, tx_now
        FROM t
        WHERE status = 'running' AND lease_owner = ${workerId}::text
          AND type = 'generate' AND node_id IS NULL AND run_id IS NULL AND cardinality(source_node_ids) = 0
        RETURNING *
      ), made_version AS (
        INSERT INTO node_versions (node_id, version, title, content, change_type, created_by, task_id, run_id, created_at)
        SELECT id, version, title, content, 'ai_generate', created_by, ${id}::uuid, NULL, created_at FROM made
      )`
    : sql``;
  const { rows } = await sql<TaskRow & { usage_nodes: number; usage_bytes: number; tx_now: Date; made: Record<string, unknown> | null }>`
    WITH t AS (
      SELECT t.*, p.node_count AS usage_nodes, p.content_bytes AS usage_bytes, date_trunc('milliseconds', now()) AS tx_now
      FROM tasks t JOIN projects p ON p.id = t.project_id
      WHERE t.id = ${id}::uuid
      FOR UPDATE OF t
    )${make}
    SELECT t.*, ${title ? sql`(SELECT to_jsonb(made) FROM made)` : sql`NULL::jsonb`} AS made FROM t
  `.execute(trx);
  if (!rows[0]) throw notFound("task");
  const { usage_nodes, usage_bytes, tx_now, made, ...task } = rows[0];
  return { task, usage: { nodes: Number(usage_nodes), bytes: Number(usage_bytes) }, now: tx_now, made: made ? nodeFromJson(made) : undefined };
}

/** A nodes row as to_jsonb gives it, with its timestamps as the driver gives them (Dates). */
function nodeFromJson(j: Record<string, unknown>): NodeRow {
  const at = (v: unknown) => (v === null ? null : new Date(v as string));
  return { ...(j as unknown as NodeRow), created_at: at(j.created_at)!, updated_at: at(j.updated_at)!, deleted_at: at(j.deleted_at) };
}

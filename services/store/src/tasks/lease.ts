import { sql, type Transaction } from "kysely";
import type { Database, TaskRow } from "../db/schema.js";
import { eventCtes, taskActor } from "../events/append.js";
import { payload } from "../events/payload.js";
import { leaseUpdate } from "./repo.js";

type Trx = Transaction<Database>;

export interface LeaseAsk {
  id: string;
  workerId: string;
  leaseMs: number;
  /** 0: no cap. */
  maxRunningPerProject: number;
  maxRunningPerUser: number;
}

/**
 * StartTask's write in one statement, for a task that moves nothing else when it starts (no
 * node of its own to mark, no graph run): the running count under the cap locks the caller
 * already holds (this statement's snapshot is taken after they were granted, so the count is
 * exact), the lease if the task is under both caps, and its task.started event. `locked` is
 * the task as the caller locked it and `now` the transaction's clock, which together say what
 * the leased row (and so the event) will be. Answers the leased row, or the cap that deferred it.
 */
export async function leaseAndStart(trx: Trx, locked: TaskRow, now: Date, ask: LeaseAsk): Promise<{ task?: TaskRow; deferred?: "project" | "user" }> {
  const leased: TaskRow = { ...locked, status: "running", lease_owner: ask.workerId, attempts: locked.attempts + 1, started_at: locked.started_at ?? now, updated_at: now };
  const capped = ask.maxRunningPerProject > 0 || ask.maxRunningPerUser > 0;
  const over = capped
    ? sql`running AS (
        SELECT count(*) FILTER (WHERE project_id = ${locked.project_id}::uuid) AS project, count(*) FILTER (WHERE created_by = ${locked.created_by}::uuid) AS by_user
        FROM tasks
        WHERE status = 'running' AND id <> ${locked.id}::uuid AND (project_id = ${locked.project_id}::uuid OR created_by = ${locked.created_by}::uuid)
      ), over AS (
        SELECT CASE
          WHEN ${ask.maxRunningPerUser}::int > 0 AND by_user >= ${ask.maxRunningPerUser}::int THEN 'user'
          WHEN ${ask.maxRunningPerProject}::int > 0 AND project >= ${ask.maxRunningPerProject}::int THEN 'project'
        END AS cap
        FROM running
      )`
    : sql`over AS (SELECT NULL::text AS cap)`;
  const update = leaseUpdate(trx, ask.id, ask.workerId, ask.leaseMs).where(sql<boolean>`(SELECT cap FROM over) IS NULL`);
  const started = eventCtes(locked.project_id, [{ name: "task.started", resource: payload.task(leased), actor: taskActor(locked) }], sql<boolean>`EXISTS (SELECT 1 FROM leased)`);
  const { rows } = await sql<TaskRow & { deferred: "project" | "user" | null }>`
    WITH ${over}, leased AS (${update}), ${started}
    SELECT over.cap AS deferred, leased.* FROM over LEFT JOIN leased ON true
  `.execute(trx);
  const { deferred, ...task } = rows[0];
  if (deferred) return { deferred };
  return task.id ? { task: task as TaskRow } : {};
}

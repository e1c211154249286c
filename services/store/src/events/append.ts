import { sql, type Kysely, type RawBuilder, type Transaction } from "kysely";
import { EventPayload } from "@sker/contracts/store/v1/event";
import type { Database } from "../db/schema.js";
import type { Resource } from "./payload.js";

/**
 * Who caused an event: a user, or an AI task working for its user. `userId` null is the
 * system (a user deleted since, a reclaim by the broker's reaper).
 */
export interface Actor {
  userId: string | null;
  taskId?: string | null;
}

/** The actor of work an AI task does (or that is done to it on the worker's side). */
export const taskActor = (task: { id: string; created_by: string }): Actor => ({ userId: task.created_by, taskId: task.id });

export interface NewEvent {
  name: string;
  /** The resource as its proto message: kept as its protobuf JSON, lossless both ways. */
  resource: Resource;
  actor: Actor;
}

/**
 * Events of one project as two CTEs for the WITH of a statement (ev_counter, then ev_rows):
 * the seqs come from bumping the project's counter under its row lock in that statement, so
 * concurrent writers on one project queue there, a rollback gives the numbers back, and seqs
 * are gap-free and strictly increasing (ids, which the relay publishes in, follow the same
 * order). The write an event tells of and the event itself then cost one round trip.
 * `when`: written only if this holds (e.g. the write changed a row). ev_counter answers the
 * project's usage columns too: the usage after the transaction's node writes, for quotas.
 */
export function eventCtes(projectId: string, events: NewEvent[], when: RawBuilder<boolean> = sql<boolean>`true`): RawBuilder<unknown> {
  const rows = sql.join(
    events.map((e, i) => sql`(${i + 1}::int, ${e.name}::text, ${JSON.stringify(EventPayload.toJSON({ resource: e.resource }))}::jsonb, ${e.actor.userId}::uuid, ${e.actor.taskId ?? null}::uuid)`),
  );
  return sql`ev_counter AS (
      UPDATE projects SET event_seq = event_seq + ${events.length}::int WHERE id = ${projectId}::uuid AND ${when}
      RETURNING event_seq - ${events.length}::int AS base, node_count, content_bytes
    ), ev_rows AS (
      INSERT INTO events (project_id, seq, name, payload, actor_user_id, actor_task_id)
      SELECT ${projectId}::uuid, ev_counter.base + v.ord, v.name, v.payload, v.actor_user_id, v.actor_task_id
      FROM ev_counter CROSS JOIN (VALUES ${rows}) AS v(ord, name, payload, actor_user_id, actor_task_id)
      ORDER BY v.ord
      RETURNING seq
    )`;
}

/**
 * Writes events of one project in the caller's transaction, in the given order, with one
 * statement (one round trip however many); see eventCtes. The outbox relay publishes the rows
 * after commit. Answers the seqs.
 */
export async function appendEvents(trx: Transaction<Database>, projectId: string, events: NewEvent[]): Promise<number[]> {
  if (events.length === 0) return [];
  const { rows: out } = await sql<{ seq: number }>`WITH ${eventCtes(projectId, events)} SELECT seq FROM ev_rows`.execute(trx);
  if (out.length !== events.length) throw new Error(`events of project ${projectId}: no such project`);
  return out.map((r) => Number(r.seq)).sort((a, b) => a - b);
}

/** Transactions inside batchEvents, and the events they wrote so far, in order. */
const batches = new WeakMap<Transaction<Database>, { projectId: string; event: NewEvent }[]>();

/**
 * Runs `work` with its events held back and then written together, one statement per project,
 * in the order they were appended, before `work`'s result is returned (so inside the same
 * transaction). A step that writes several events (CompleteTask: the node's, the task's, a
 * run's) pays one round trip for them; the project row lock is taken last, as it should be.
 */
export async function batchEvents<T>(trx: Transaction<Database>, work: () => Promise<T>): Promise<T> {
  if (batches.has(trx)) return work();
  const held: { projectId: string; event: NewEvent }[] = [];
  batches.set(trx, held);
  try {
    const out = await work();
    const byProject = new Map<string, NewEvent[]>();
    for (const { projectId, event } of held) byProject.set(projectId, [...(byProject.get(projectId) ?? []), event]);
    for (const [projectId, events] of byProject) await appendEvents(trx, projectId, events);
    return out;
  } finally {
    batches.delete(trx);
  }
}

/** Whether `db` is a transaction inside batchEvents (whose events must keep their turn). */
export const holdsEvents = (db: Kysely<Database>): db is Transaction<Database> => batches.has(db as Transaction<Database>);

/**
 * Hands the events held so far for `projectId` to the caller, which writes them in its own
 * last statement (eventCtes); batchEvents then has none of them left to write.
 */
export function takeHeld(trx: Transaction<Database>, projectId: string): NewEvent[] {
  const held = batches.get(trx);
  if (!held) return [];
  const mine = held.filter((h) => h.projectId === projectId).map((h) => h.event);
  held.splice(0, held.length, ...held.filter((h) => h.projectId !== projectId));
  return mine;
}

/** One event (held back inside batchEvents); see appendEvents. */
export async function appendEvent(trx: Transaction<Database>, projectId: string, name: string, resource: Resource, actor: Actor): Promise<void> {
  const held = batches.get(trx);
  if (held) held.push({ projectId, event: { name, resource, actor } });
  else await appendEvents(trx, projectId, [{ name, resource, actor }]);
}

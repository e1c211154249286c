import { sql, type Kysely } from "kysely";
import type { Database } from "../db/schema.js";

/** One pruner per database across all store replicas: whoever holds this lock prunes. */
const RETENTION_LOCK = 0x5ce7_0b0d;
const BATCH = 5_000;
const DAY_MS = 86_400_000;

export interface RetentionPolicy {
  eventsDays: number;
  tasksDays: number;
}

export interface PruneResult {
  /** false when another replica held the lock: it is pruning, this one did nothing. */
  ran: boolean;
  events: number;
  tasks: number;
}

/**
 * One pass of retention, in batches each in its own short transaction under an advisory lock.
 * Events older than the policy go (only published ones: the outbox still needs the rest), and
 * each project's pruned_seq moves up to the highest seq removed, so a replay from before it
 * is answered with a resync instead of a silent gap. Finished tasks (completed, failed,
 * cancelled) go after their own period; their streamed progress was never stored (bus only).
 */
export async function prune(db: Kysely<Database>, policy: RetentionPolicy, now = new Date()): Promise<PruneResult> {
  const out: PruneResult = { ran: true, events: 0, tasks: 0 };
  const eventsBefore = new Date(now.getTime() - policy.eventsDays * DAY_MS);
  const tasksBefore = new Date(now.getTime() - policy.tasksDays * DAY_MS);
  for (;;) {
    const step = await db.transaction().execute(async (trx) => {
      const { rows } = await sql<{ locked: boolean }>`SELECT pg_try_advisory_xact_lock(${RETENTION_LOCK}) AS locked`.execute(trx);
      if (!rows[0]?.locked) return undefined;
      const { rows: gone } = await sql<{ project_id: string; seq: number }>`
        DELETE FROM events WHERE id IN (
          SELECT id FROM events WHERE created_at < ${eventsBefore} AND published_at IS NOT NULL ORDER BY id LIMIT ${BATCH}
        ) RETURNING project_id, seq`.execute(trx);
      const top = new Map<string, number>();
      for (const g of gone) top.set(g.project_id, Math.max(top.get(g.project_id) ?? 0, Number(g.seq)));
      for (const [projectId, seq] of top) {
        await trx.updateTable("projects").set((eb) => ({ pruned_seq: sql`GREATEST(${eb.ref("pruned_seq")}, ${seq})` })).where("id", "=", projectId).execute();
      }
      const tasks = await trx
        .deleteFrom("tasks")
        .where("id", "in", (eb) =>
          eb.selectFrom("tasks").select("id").where("status", "in", ["completed", "failed", "cancelled"]).where("completed_at", "<", tasksBefore).limit(BATCH),
        )
        .executeTakeFirst();
      return { events: gone.length, tasks: Number(tasks.numDeletedRows) };
    });
    if (!step) return { ...out, ran: out.events + out.tasks > 0 };
    out.events += step.events;
    out.tasks += step.tasks;
    if (step.events < BATCH && step.tasks < BATCH) return out;
  }
}

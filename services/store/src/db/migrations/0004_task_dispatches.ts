import { sql, type Kysely } from "kysely";

// The task queue's outbox: a row written in the task's own transaction (create, reclaim) that a
// broker's relay publishes and then deletes, so a committed task is never left without its
// message and a failed submit leaves neither (see TaskService.ClaimDispatches).
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE task_dispatches (
      id bigserial PRIMARY KEY,
      task_id uuid NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
      reclaimed boolean NOT NULL DEFAULT false,
      trace jsonb NOT NULL DEFAULT '{}'::jsonb,
      claimed_until timestamptz(3),
      created_at timestamptz(3) NOT NULL DEFAULT now()
    )
  `.execute(db);
  await sql`CREATE INDEX task_dispatches_claim ON task_dispatches (claimed_until NULLS FIRST, id)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE task_dispatches`.execute(db);
}

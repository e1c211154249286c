import { sql, type Kysely } from "kysely";

// Collaboration (issue 12): who caused each event, task retries, search indexes, retention.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE EXTENSION IF NOT EXISTS pg_trgm;

    -- The actor of an event: a user, or an AI task acting for its user. No foreign keys: the
    -- history outlives a deleted user (shown without a username) and a pruned task.
    ALTER TABLE events ADD COLUMN actor_user_id uuid, ADD COLUMN actor_task_id uuid;
    CREATE INDEX events_created ON events (created_at);

    -- Events with seq <= pruned_seq were removed by retention: a replay from before it is a resync.
    ALTER TABLE projects ADD COLUMN pruned_seq bigint NOT NULL DEFAULT 0;

    ALTER TABLE tasks ADD COLUMN retry_of uuid;
    CREATE INDEX tasks_finished ON tasks (completed_at) WHERE status IN ('completed', 'failed', 'cancelled');

    -- Search matches substrings through trigrams, which needs no word boundaries (Chinese,
    -- Japanese); the same expression is ranked with the 'simple' text search configuration.
    CREATE INDEX nodes_search_trgm ON nodes USING gin ((title || ' ' || content) gin_trgm_ops) WHERE deleted_at IS NULL;
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    DROP INDEX nodes_search_trgm;
    DROP INDEX tasks_finished;
    ALTER TABLE tasks DROP COLUMN retry_of;
    ALTER TABLE projects DROP COLUMN pruned_seq;
    DROP INDEX events_created;
    ALTER TABLE events DROP COLUMN actor_user_id, DROP COLUMN actor_task_id;
  `.execute(db);
}

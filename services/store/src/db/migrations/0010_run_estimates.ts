import { sql, type Kysely } from "kysely";

// A graph run's nodes hold their estimated cost against the monthly budgets from the moment the
// run is planned: a pending node's estimate counts until its task is queued (which then holds
// it), or until the node is cached, skipped, failed or cancelled.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    ALTER TABLE run_nodes ADD COLUMN estimated_cost_usd double precision NOT NULL DEFAULT 0;
    CREATE INDEX runs_running_by_project ON runs (project_id) WHERE status = 'running';
    CREATE INDEX runs_running_by_user ON runs (created_by) WHERE status = 'running';
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    DROP INDEX runs_running_by_user;
    DROP INDEX runs_running_by_project;
    ALTER TABLE run_nodes DROP COLUMN estimated_cost_usd;
  `.execute(db);
}

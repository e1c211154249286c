import { sql, type Kysely } from "kysely";

// Money: what each provider call cost (the ledger), what each task spent and reserved, and a
// per-user budget override. The ledger keeps plain ids, no foreign keys: a spending record
// outlives the user, project or task it names.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    ALTER TABLE tasks
      ADD COLUMN calls jsonb NOT NULL DEFAULT '[]',
      ADD COLUMN cost_usd double precision NOT NULL DEFAULT 0,
      ADD COLUMN estimated_cost_usd double precision NOT NULL DEFAULT 0;
    CREATE INDEX tasks_active_by_project ON tasks (project_id) WHERE status IN ('queued', 'running');
    CREATE INDEX tasks_active_by_user ON tasks (created_by) WHERE status IN ('queued', 'running');

    ALTER TABLE users ADD COLUMN ai_monthly_budget_usd double precision CHECK (ai_monthly_budget_usd >= 0);

    CREATE TABLE usage_ledger (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      project_id uuid NOT NULL,
      user_id uuid NOT NULL,
      task_id uuid NOT NULL,
      alias text NOT NULL,
      provider text NOT NULL,
      model text NOT NULL,
      input_tokens integer NOT NULL CHECK (input_tokens >= 0),
      output_tokens integer NOT NULL CHECK (output_tokens >= 0),
      cost_usd double precision NOT NULL CHECK (cost_usd >= 0),
      outcome text NOT NULL,
      at timestamptz(3) NOT NULL DEFAULT now()
    );
    CREATE INDEX usage_ledger_project_at ON usage_ledger (project_id, at);
    CREATE INDEX usage_ledger_user_at ON usage_ledger (user_id, at);
    CREATE INDEX usage_ledger_at ON usage_ledger (at);
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    DROP TABLE usage_ledger;
    ALTER TABLE users DROP COLUMN ai_monthly_budget_usd;
    DROP INDEX tasks_active_by_project;
    DROP INDEX tasks_active_by_user;
    ALTER TABLE tasks DROP COLUMN calls, DROP COLUMN cost_usd, DROP COLUMN estimated_cost_usd;
  `.execute(db);
}

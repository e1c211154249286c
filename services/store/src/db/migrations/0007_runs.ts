import { sql, type Kysely } from "kysely";

// Graph runs (issue 13). A node with a recipe is an AI node; run_hash is the hash of what made
// its current content (recipe, options, each input's content), so a run can skip it when
// nothing changed. A run's state lives here, advanced by the transactions that finish tasks.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    ALTER TABLE nodes ADD COLUMN recipe jsonb, ADD COLUMN run_hash text;

    ALTER TABLE node_versions DROP CONSTRAINT node_versions_change_type_check;
    ALTER TABLE node_versions ADD CONSTRAINT node_versions_change_type_check CHECK (change_type IN
      ('create', 'edit', 'ai_generate', 'ai_optimize', 'ai_expand', 'ai_fusion', 'ai_analyze', 'rollback', 'ai_run'));
    ALTER TABLE node_versions ADD COLUMN run_id uuid;

    CREATE TABLE runs (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      project_id uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
      status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed', 'failed', 'cancelled')),
      targets uuid[] NOT NULL DEFAULT '{}',
      force boolean NOT NULL DEFAULT false,
      created_by uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      created_at timestamptz(3) NOT NULL DEFAULT now(),
      updated_at timestamptz(3) NOT NULL DEFAULT now(),
      finished_at timestamptz(3)
    );
    CREATE INDEX runs_project_page ON runs (project_id, created_at, id);

    CREATE TABLE run_nodes (
      run_id uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
      node_id uuid NOT NULL,
      ord integer NOT NULL,
      state text NOT NULL DEFAULT 'pending' CHECK (state IN
        ('pending', 'cached', 'queued', 'running', 'completed', 'failed', 'skipped', 'cancelled')),
      depends_on uuid[] NOT NULL DEFAULT '{}',
      base_version integer NOT NULL,
      hash text,
      task_id uuid,
      error_code text,
      error_message text,
      PRIMARY KEY (run_id, node_id)
    );
    CREATE INDEX run_nodes_task ON run_nodes (task_id) WHERE task_id IS NOT NULL;

    ALTER TABLE tasks ADD COLUMN run_id uuid REFERENCES runs (id) ON DELETE SET NULL;
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    ALTER TABLE tasks DROP COLUMN run_id;
    DROP TABLE run_nodes, runs;
    ALTER TABLE node_versions DROP COLUMN run_id;
    DELETE FROM node_versions WHERE change_type = 'ai_run';
    ALTER TABLE node_versions DROP CONSTRAINT node_versions_change_type_check;
    ALTER TABLE node_versions ADD CONSTRAINT node_versions_change_type_check CHECK (change_type IN
      ('create', 'edit', 'ai_generate', 'ai_optimize', 'ai_expand', 'ai_fusion', 'ai_analyze', 'rollback'));
    ALTER TABLE nodes DROP COLUMN recipe, DROP COLUMN run_hash;
  `.execute(db);
}

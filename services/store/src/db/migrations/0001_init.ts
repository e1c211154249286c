import { sql, type Kysely } from "kysely";

// The whole schema as readable SQL. Invariants live in the database too (CHECKs, FKs,
// unique indexes), so no code path can write a node with importance 9 or a cross-project link.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE users (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      email text NOT NULL,
      username text NOT NULL,
      password_hash text NOT NULL,
      display_name text NOT NULL DEFAULT '',
      avatar_url text NOT NULL DEFAULT '',
      settings jsonb NOT NULL DEFAULT '{}',
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE UNIQUE INDEX users_email_key ON users (lower(email));
    CREATE UNIQUE INDEX users_username_key ON users (lower(username));

    CREATE TABLE refresh_tokens (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      family_id uuid NOT NULL,
      user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      token_hash text NOT NULL UNIQUE,
      expires_at timestamptz NOT NULL,
      used_at timestamptz,
      revoked_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

    CREATE TABLE api_keys (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
      prefix text NOT NULL,
      key_hash text NOT NULL UNIQUE,
      created_at timestamptz NOT NULL DEFAULT now(),
      last_used_at timestamptz
    );
    CREATE INDEX api_keys_user ON api_keys (user_id, created_at);

    CREATE TABLE projects (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      description text NOT NULL DEFAULT '',
      status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
      canvas_data jsonb NOT NULL DEFAULT '{}',
      settings jsonb NOT NULL DEFAULT '{}',
      owner_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      event_seq bigint NOT NULL DEFAULT 0,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      deleted_at timestamptz
    );

    CREATE TABLE project_members (
      project_id uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
      user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      role text NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (project_id, user_id)
    );
    CREATE INDEX project_members_user ON project_members (user_id, project_id);

    CREATE TABLE nodes (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      project_id uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
      title text NOT NULL DEFAULT '' CHECK (length(title) <= 500),
      content text NOT NULL DEFAULT '' CHECK (length(content) <= 100000),
      semantic_type text NOT NULL DEFAULT '',
      importance integer NOT NULL DEFAULT 3 CHECK (importance BETWEEN 1 AND 5),
      confidence double precision NOT NULL DEFAULT 1 CHECK (confidence BETWEEN 0 AND 1),
      status text NOT NULL DEFAULT 'idle' CHECK (status IN ('idle', 'processing', 'completed', 'error')),
      tags text[] NOT NULL DEFAULT '{}',
      position_x double precision NOT NULL DEFAULT 0,
      position_y double precision NOT NULL DEFAULT 0,
      width double precision NOT NULL DEFAULT 240,
      height double precision NOT NULL DEFAULT 120,
      metadata jsonb NOT NULL DEFAULT '{}',
      parent_id uuid REFERENCES nodes (id) ON DELETE SET NULL,
      version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
      ai_generated boolean NOT NULL DEFAULT false,
      created_by uuid REFERENCES users (id) ON DELETE SET NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      deleted_at timestamptz,
      UNIQUE (project_id, id)
    );
    CREATE INDEX nodes_project_page ON nodes (project_id, created_at, id);
    CREATE INDEX nodes_tags ON nodes USING gin (tags);

    CREATE TABLE node_versions (
      node_id uuid NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
      version integer NOT NULL,
      title text NOT NULL,
      content text NOT NULL,
      change_type text NOT NULL CHECK (change_type IN
        ('create', 'edit', 'ai_generate', 'ai_optimize', 'ai_expand', 'ai_fusion', 'ai_analyze', 'rollback')),
      created_by uuid REFERENCES users (id) ON DELETE SET NULL,
      task_id uuid,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (node_id, version)
    );

    CREATE TABLE connections (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      project_id uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
      source_node_id uuid NOT NULL,
      target_node_id uuid NOT NULL,
      type text NOT NULL CHECK (type IN
        ('related', 'dependency', 'reference', 'expand', 'fusion', 'input', 'output', 'bidirectional')),
      label text NOT NULL DEFAULT '' CHECK (length(label) <= 200),
      weight double precision NOT NULL DEFAULT 1 CHECK (weight BETWEEN 0 AND 1),
      created_by uuid REFERENCES users (id) ON DELETE SET NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      deleted_at timestamptz,
      CHECK (source_node_id <> target_node_id),
      UNIQUE (source_node_id, target_node_id, type),
      FOREIGN KEY (project_id, source_node_id) REFERENCES nodes (project_id, id) ON DELETE CASCADE,
      FOREIGN KEY (project_id, target_node_id) REFERENCES nodes (project_id, id) ON DELETE CASCADE
    );
    CREATE INDEX connections_project_page ON connections (project_id, created_at, id);
    CREATE INDEX connections_target ON connections (target_node_id);

    CREATE TABLE tasks (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      project_id uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
      type text NOT NULL CHECK (type IN ('generate', 'optimize', 'expand', 'fusion', 'analyze')),
      status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
      priority text NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
      node_id uuid,
      result_node_id uuid,
      source_node_ids uuid[] NOT NULL DEFAULT '{}',
      prompt text NOT NULL DEFAULT '' CHECK (length(prompt) <= 20000),
      options jsonb NOT NULL DEFAULT '{}',
      attempts integer NOT NULL DEFAULT 0,
      result jsonb,
      error_code text,
      error_message text,
      input_tokens integer NOT NULL DEFAULT 0,
      output_tokens integer NOT NULL DEFAULT 0,
      provider text NOT NULL DEFAULT '',
      model text NOT NULL DEFAULT '',
      created_by uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      idempotency_key text,
      lease_owner text,
      lease_expires_at timestamptz,
      enqueued_at timestamptz NOT NULL DEFAULT now(),
      created_at timestamptz NOT NULL DEFAULT now(),
      started_at timestamptz,
      completed_at timestamptz,
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE UNIQUE INDEX tasks_idempotency ON tasks (created_by, idempotency_key) WHERE idempotency_key IS NOT NULL;
    CREATE INDEX tasks_project_page ON tasks (project_id, created_at, id);
    CREATE INDEX tasks_live ON tasks (status, lease_expires_at) WHERE status IN ('queued', 'running');

    CREATE TABLE events (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      project_id uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
      seq bigint NOT NULL,
      name text NOT NULL,
      data jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      published_at timestamptz,
      UNIQUE (project_id, seq)
    );
    CREATE INDEX events_unpublished ON events (id) WHERE published_at IS NULL;
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE events, tasks, connections, node_versions, nodes, project_members, projects, api_keys, refresh_tokens, users`.execute(db);
}

import { sql, type Kysely } from "kysely";
import { up as create0013 } from "./0013_start_task_function.js";

// sker_start_task (0013) also starts a task that rewrites its node (generate onto a node,
// optimize, analyze): the node shows `processing` (version + 1, node.updated, as
// tasks/node-status.ts markTargetNode does) before task.started, in the same statement. Only a
// graph run's task (its run moves too) and a task that cannot start now are left to the caller.
//
// sker_node_payload is the node.* event payload as nodes/map.ts nodeToProto writes it; store test
// task-lifecycle-statements.test.ts holds the two equal.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE FUNCTION sker_node_payload(n nodes) RETURNS jsonb LANGUAGE sql STABLE AS $$
      -- Absent fields are left out at the top level only: metadata may hold nulls of its own.
      SELECT jsonb_build_object('node', (
        SELECT jsonb_object_agg(key, value) FROM jsonb_each(jsonb_build_object(
          'id', n.id,
          'projectId', n.project_id,
          'title', n.title,
          'content', n.content,
          'semanticType', n.semantic_type,
          'importance', n.importance,
          'confidence', n.confidence,
          'status', 'NODE_STATUS_' || upper(n.status),
          'tags', to_jsonb(n.tags),
          'position', jsonb_build_object('x', n.position_x, 'y', n.position_y),
          'size', jsonb_build_object('width', n.width, 'height', n.height),
          'metadata', n.metadata,
          'parentId', n.parent_id,
          'version', n.version,
          'aiGenerated', n.ai_generated,
          'createdBy', n.created_by,
          'createdAt', to_char(n.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
          'updatedAt', to_char(n.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
          'deletedAt', to_char(n.deleted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
          'recipe', CASE WHEN n.recipe IS NOT NULL THEN jsonb_build_object(
            'type', n.recipe ->> 'type',
            'prompt', coalesce(n.recipe ->> 'prompt', ''),
            'model', coalesce(n.recipe #>> '{options,model}', ''),
            'temperature', n.recipe #> '{options,temperature}',
            'maxTokens', n.recipe #> '{options,maxTokens}'
          ) END
        )) AS f(key, value)
        WHERE value <> 'null'::jsonb
      ))
    $$;

    CREATE OR REPLACE FUNCTION sker_start_task(p_id uuid, p_worker text, p_lease_ms int, p_max_attempts int, p_max_project int, p_max_user int)
    RETURNS TABLE (outcome text, task tasks) LANGUAGE plpgsql AS $$
    DECLARE
      cur tasks;
      marked nodes;
      n_project bigint;
      n_user bigint;
      next_seq bigint;
    BEGIN
      -- The cap locks before anything else, as every start takes them (no deadlock with row locks).
      IF p_max_project > 0 OR p_max_user > 0 THEN
        PERFORM pg_advisory_xact_lock(hashtextextended('sker.cap.user.' || created_by::text, 0)),
                pg_advisory_xact_lock(hashtextextended('sker.cap.project.' || project_id::text, 0))
        FROM tasks WHERE id = p_id;
      END IF;
      SELECT * INTO cur FROM tasks WHERE id = p_id FOR UPDATE;
      IF NOT FOUND THEN
        RETURN QUERY SELECT 'missing'::text, NULL::tasks;
        RETURN;
      END IF;
      IF NOT (cur.status = 'queued' OR (cur.status = 'running' AND cur.lease_expires_at < now()))
         OR (p_max_attempts > 0 AND cur.attempts >= p_max_attempts)
         OR cur.run_id IS NOT NULL THEN
        RETURN QUERY SELECT 'other'::text, cur;
        RETURN;
      END IF;
      IF p_max_project > 0 OR p_max_user > 0 THEN
        -- A fresh snapshot, taken under the locks: every start committed before them is counted.
        SELECT count(*) FILTER (WHERE project_id = cur.project_id), count(*) FILTER (WHERE created_by = cur.created_by)
        INTO n_project, n_user
        FROM tasks
        WHERE status = 'running' AND id <> p_id AND (project_id = cur.project_id OR created_by = cur.created_by);
        IF p_max_user > 0 AND n_user >= p_max_user THEN
          RETURN QUERY SELECT 'user'::text, cur;
          RETURN;
        END IF;
        IF p_max_project > 0 AND n_project >= p_max_project THEN
          RETURN QUERY SELECT 'project'::text, cur;
          RETURN;
        END IF;
      END IF;
      UPDATE tasks SET
        status = 'running',
        lease_owner = p_worker,
        lease_expires_at = now() + p_lease_ms * interval '1 millisecond',
        attempts = attempts + 1,
        started_at = coalesce(started_at, date_trunc('milliseconds', now())),
        updated_at = date_trunc('milliseconds', now())
      WHERE id = p_id
      RETURNING * INTO cur;
      -- The node the task rewrites shows it, if it is live, in the task's project and not
      -- processing already (a status change: a new version number, no version row).
      IF cur.node_id IS NOT NULL AND cur.type IN ('generate', 'optimize', 'analyze') THEN
        UPDATE nodes SET status = 'processing', version = version + 1, updated_at = date_trunc('milliseconds', now())
        WHERE id = cur.node_id AND deleted_at IS NULL AND project_id = cur.project_id AND status <> 'processing'
        RETURNING * INTO marked;
      END IF;
      -- The seqs under the project's row lock, taken last (events/append.ts); the node's event first.
      UPDATE projects SET event_seq = event_seq + CASE WHEN marked.id IS NULL THEN 1 ELSE 2 END
      WHERE id = cur.project_id
      RETURNING event_seq INTO next_seq;
      IF marked.id IS NOT NULL THEN
        INSERT INTO events (project_id, seq, name, payload, actor_user_id, actor_task_id)
        VALUES (cur.project_id, next_seq - 1, 'node.updated', sker_node_payload(marked), cur.created_by, cur.id);
      END IF;
      INSERT INTO events (project_id, seq, name, payload, actor_user_id, actor_task_id)
      VALUES (cur.project_id, next_seq, 'task.started', sker_task_payload(cur), cur.created_by, cur.id);
      RETURN QUERY SELECT 'started'::text, cur;
    END
    $$;
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  // Back to 0013's sker_start_task, which hands a task with a node to mark to the caller.
  await sql`
    DROP FUNCTION sker_start_task(uuid, text, int, int, int, int);
    DROP FUNCTION sker_task_payload(tasks);
    DROP FUNCTION sker_node_payload(nodes);
  `.execute(db);
  await create0013(db);
}

import { sql, type Kysely } from "kysely";

// StartTask in one statement. Exact running caps need the count to be taken after the cap locks
// are granted, which one plain statement cannot do (its snapshot is taken before its locks);
// a function's statements each take a fresh snapshot, so the locks, the count, the lease and
// the task.started event fit in one round trip and need no BEGIN and COMMIT around them.
//
// sker_task_payload is the task.* event payload (EventPayload's protobuf JSON with a task) as
// tasks/map.ts taskToProto writes it; store test events-sql-payload.test.ts holds the two equal.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE FUNCTION sker_task_payload(t tasks) RETURNS jsonb LANGUAGE sql STABLE AS $$
      SELECT jsonb_build_object('task', jsonb_strip_nulls(jsonb_build_object(
        'id', t.id,
        'projectId', t.project_id,
        'type', 'TASK_TYPE_' || upper(t.type),
        'status', 'TASK_STATUS_' || upper(t.status),
        'priority', 'TASK_PRIORITY_' || upper(t.priority),
        'nodeId', t.node_id,
        'resultNodeId', t.result_node_id,
        'sourceNodeIds', to_jsonb(t.source_node_ids),
        'prompt', t.prompt,
        'options', jsonb_build_object('model', coalesce(t.options ->> 'model', ''), 'temperature', t.options -> 'temperature', 'maxTokens', t.options -> 'maxTokens'),
        'attempts', t.attempts,
        'result', t.result,
        'error', CASE WHEN t.error_code IS NOT NULL THEN jsonb_build_object('code', t.error_code, 'message', coalesce(t.error_message, '')) END,
        'usage', jsonb_build_object('inputTokens', t.input_tokens, 'outputTokens', t.output_tokens, 'costUsd', t.cost_usd),
        'provider', t.provider,
        'model', t.model,
        'createdBy', t.created_by,
        'createdAt', to_char(t.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'startedAt', to_char(t.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'completedAt', to_char(t.completed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'runId', t.run_id,
        'retryOf', t.retry_of,
        'calls', t.calls
      )))
    $$;

    -- Answers what became of the start: 'started' (leased, event written), 'user' or 'project'
    -- (a running cap defers it), 'missing', or 'other': a task this function leaves to the
    -- caller's transaction (not startable now, attempts spent, a node of its own to mark
    -- processing, a graph run to move), with nothing written.
    CREATE FUNCTION sker_start_task(p_id uuid, p_worker text, p_lease_ms int, p_max_attempts int, p_max_project int, p_max_user int)
    RETURNS TABLE (outcome text, task tasks) LANGUAGE plpgsql AS $$
    DECLARE
      cur tasks;
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
         OR cur.run_id IS NOT NULL
         OR (cur.node_id IS NOT NULL AND cur.type IN ('generate', 'optimize', 'analyze')) THEN
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
      -- The seq under the project's row lock, taken last (events/append.ts).
      UPDATE projects SET event_seq = event_seq + 1 WHERE id = cur.project_id RETURNING event_seq INTO next_seq;
      INSERT INTO events (project_id, seq, name, payload, actor_user_id, actor_task_id)
      VALUES (cur.project_id, next_seq, 'task.started', sker_task_payload(cur), cur.created_by, cur.id);
      RETURN QUERY SELECT 'started'::text, cur;
    END
    $$;
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    DROP FUNCTION sker_start_task(uuid, text, int, int, int, int);
    DROP FUNCTION sker_task_payload(tasks);
  `.execute(db);
}

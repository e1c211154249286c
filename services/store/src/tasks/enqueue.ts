import { sql, type Kysely } from "kysely";
import { EventPayload } from "@sker/contracts/store/v1/event";
import { traceCarrier } from "@sker/kit";
import type { Database, TaskRow } from "../db/schema.js";
import { isoMs } from "../db/sql.js";
import { appendEvent, holdsEvents } from "../events/append.js";
import { payload } from "../events/payload.js";
import { insertTask, newTaskInsert } from "./repo.js";
import type { NewTaskInput } from "./validate.js";

type Db = Kysely<Database>;

/**
 * The one way a task comes into being, in the caller's transaction: the row, its task.queued
 * event and its queue message (a dispatch row the brokers' relays publish: committed means it
 * will be published). Submitted tasks and the tasks a graph run queues both come through here.
 * Answers undefined when the idempotency key was already used.
 *
 * All three are one statement (CreateTask still wraps it in BEGIN/COMMIT: see its comment on
 * why a 503 must mean "not created"). Inside batchEvents (a graph run's completion queueing the
 * next tasks) the event waits its turn with the others.
 */
export async function enqueueTaskTx(db: Db, input: NewTaskInput, userId: string, runId: string | null = null): Promise<TaskRow | undefined> {
  if (holdsEvents(db)) {
    const task = await insertTask(db, input, userId, runId, traceCarrier());
    if (task) await appendEvent(db, task.project_id, "task.queued", payload.task(task), { userId });
    return task;
  }
  // The event's payload is the new row's; only its id and creation time come from the database.
  const template = JSON.stringify(EventPayload.toJSON({ resource: payload.task(newRow(input, userId, runId)) }));
  const { rows } = await sql<TaskRow>`
    WITH t AS (${newTaskInsert(db, input, userId, runId)}),
    d AS (INSERT INTO task_dispatches (task_id, trace) SELECT id, ${JSON.stringify(traceCarrier())}::jsonb FROM t),
    ev_counter AS (
      UPDATE projects SET event_seq = event_seq + 1 WHERE id = ${input.projectId}::uuid AND EXISTS (SELECT 1 FROM t)
      RETURNING event_seq - 1 AS base
    ),
    ev_rows AS (
      INSERT INTO events (project_id, seq, name, payload, actor_user_id, actor_task_id)
      SELECT t.project_id, ev_counter.base + 1, 'task.queued',
        jsonb_set(jsonb_set(${template}::jsonb, '{task,id}', to_jsonb(t.id::text)), '{task,createdAt}', to_jsonb(${isoMs(sql`t.created_at`)})),
        ${userId}::uuid, NULL
      FROM ev_counter CROSS JOIN t
    )
    SELECT * FROM t
  `.execute(db);
  return rows[0];
}

/** The row the insert makes, as far as it is known before the database gives its id and time. */
function newRow(t: NewTaskInput, userId: string, runId: string | null): TaskRow {
  const at = new Date(0);
  return {
    id: "",
    project_id: t.projectId,
    type: t.type,
    status: "queued",
    priority: t.priority,
    node_id: t.nodeId,
    result_node_id: null,
    source_node_ids: t.sourceNodeIds,
    prompt: t.prompt,
    options: { ...t.options },
    attempts: 0,
    result: null,
    error_code: null,
    error_message: null,
    input_tokens: 0,
    output_tokens: 0,
    provider: "",
    model: "",
    created_by: userId,
    idempotency_key: t.idempotencyKey,
    lease_owner: null,
    lease_expires_at: null,
    enqueued_at: at,
    created_at: at,
    started_at: null,
    completed_at: null,
    updated_at: at,
    retry_of: t.retryOf,
    run_id: runId,
    calls: [],
    cost_usd: 0,
    estimated_cost_usd: t.estimatedCostUsd ?? 0,
  };
}

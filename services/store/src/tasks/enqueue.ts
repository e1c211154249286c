import type { Transaction } from "kysely";
import type { Database, TaskRow } from "../db/schema.js";
import { appendEvent } from "../events/append.js";
import { taskToRest } from "./map.js";
import { insertTask } from "./repo.js";
import type { NewTaskInput } from "./validate.js";

/**
 * The one way a task comes into being, in the caller's transaction: the row and its task.queued
 * event. Submitted tasks and the tasks a graph run queues both come through here, so whatever
 * must accompany a new task (its queue message, once task publishing moves to an outbox) is
 * added in one place. Answers undefined when the idempotency key was already used.
 */
export async function enqueueTaskTx(trx: Transaction<Database>, input: NewTaskInput, userId: string, runId: string | null = null): Promise<TaskRow | undefined> {
  const task = await insertTask(trx, input, userId, runId);
  if (task) await appendEvent(trx, task.project_id, "task.queued", taskToRest(task), { userId });
  return task;
}

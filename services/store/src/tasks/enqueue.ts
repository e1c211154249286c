import type { Transaction } from "kysely";
import { traceCarrier } from "@sker/kit";
import type { Database, TaskRow } from "../db/schema.js";
import { appendEvent } from "../events/append.js";
import { payload } from "../events/payload.js";
import { insertTask } from "./repo.js";
import type { NewTaskInput } from "./validate.js";

/**
 * The one way a task comes into being, in the caller's transaction: the row, its task.queued
 * event and its queue message (a dispatch row the brokers' relays publish: committed means it
 * will be published). Submitted tasks and the tasks a graph run queues both come through here.
 * Answers undefined when the idempotency key was already used.
 */
export async function enqueueTaskTx(trx: Transaction<Database>, input: NewTaskInput, userId: string, runId: string | null = null): Promise<TaskRow | undefined> {
  const task = await insertTask(trx, input, userId, runId, traceCarrier());
  // The row and its dispatch before the event: appendEvent takes the project's row lock (the
  // seq), which every writer of the project waits for, so it comes last.
  if (task) {
    await appendEvent(trx, task.project_id, "task.queued", payload.task(task), { userId });
  }
  return task;
}

import type { Static } from "typebox";
import { invalid } from "@sker/kit";
import type { ListTasksRequest, Task, TaskPriority, TaskStatus, TaskType } from "@sker/contracts/store/v1/task";
import { taskRuleProblem } from "@sker/contracts/task-rules";
import type { SubmitTaskRequest } from "@sker/contracts/broker/v1/broker";
import type * as schema from "../schemas/tasks.js";
import { enumIn, page } from "./common.js";

// REST → proto for the AI task routes and the WebSocket's AI_GENERATE_REQUEST.

/** The broker's request; each task type's needs are checked here so the error names the field. */
export function submitTask(b: schema.TaskBody, idempotencyKey: string | undefined): SubmitTaskRequest {
  const problem = taskRuleProblem(b);
  if (problem) throw invalid(problem.field, problem.message);
  return {
    projectId: b.projectId,
    type: enumIn<TaskType>(b.type, "TASK_TYPE_"),
    nodeId: b.nodeId ?? "",
    sourceNodeIds: b.sourceNodeIds ?? [],
    prompt: b.prompt ?? "",
    options: b.options ? { model: b.options.model ?? "", temperature: b.options.temperature, maxTokens: b.options.maxTokens } : undefined,
    priority: enumIn<TaskPriority>(b.priority, "TASK_PRIORITY_"),
    idempotencyKey: idempotencyKey ?? "",
    retryOf: "",
  };
}

/** The same input again, as a new task that records which one it retries. */
export function retryTask(t: Task, idempotencyKey: string | undefined): SubmitTaskRequest {
  return {
    projectId: t.projectId,
    type: t.type,
    nodeId: t.nodeId,
    sourceNodeIds: t.sourceNodeIds,
    prompt: t.prompt,
    options: t.options,
    priority: t.priority,
    idempotencyKey: idempotencyKey ?? "",
    retryOf: t.id,
  };
}

export const listTasks = (q: Static<typeof schema.listTasksQuery>): ListTasksRequest => ({ projectId: q.projectId, status: enumIn<TaskStatus>(q.status, "TASK_STATUS_"), page: page(q) });

import { invalid, toProtoEnum } from "@sker/kit";
import { TaskPriority, TaskType, type Task } from "@sker/contracts/store/v1/task";
import { taskRuleProblem } from "@sker/contracts/task-rules";
import type { SubmitTaskRequest } from "@sker/contracts/broker/v1/broker";

/** The POST /ai-tasks body (also the WebSocket AI_GENERATE_REQUEST), already schema-checked. */
export interface TaskBody {
  projectId: string;
  type: string;
  nodeId?: string;
  sourceNodeIds?: string[];
  prompt?: string;
  options?: { model?: string; temperature?: number; maxTokens?: number };
  priority?: string;
}

/** The broker's request; each task type's needs are checked here so the error names the field. */
export function submitRequest(b: TaskBody, idempotencyKey: string | undefined): SubmitTaskRequest {
  const problem = taskRuleProblem(b);
  if (problem) throw invalid(problem.field, problem.message);
  return {
    projectId: b.projectId,
    type: toProtoEnum<TaskType>(b.type, "TASK_TYPE_"),
    nodeId: b.nodeId ?? "",
    sourceNodeIds: b.sourceNodeIds ?? [],
    prompt: b.prompt ?? "",
    options: b.options ? { model: b.options.model ?? "", temperature: b.options.temperature, maxTokens: b.options.maxTokens } : undefined,
    priority: b.priority ? toProtoEnum<TaskPriority>(b.priority, "TASK_PRIORITY_") : TaskPriority.TASK_PRIORITY_UNSPECIFIED,
    idempotencyKey: idempotencyKey ?? "",
    retryOf: "",
  };
}

/** The same input again, as a new task that records which one it retries. */
export function retryRequest(t: Task, idempotencyKey: string | undefined): SubmitTaskRequest {
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

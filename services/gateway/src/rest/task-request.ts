import { invalid, toProtoEnum } from "@sker/kit";
import { TaskPriority, TaskType, type Task } from "@sker/contracts/store/v1/task";
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

/** What each task type needs (DESIGN §3), checked here so the error names the field. */
export function submitRequest(b: TaskBody, idempotencyKey: string | undefined): SubmitTaskRequest {
  if (b.type === "generate" && !b.prompt?.trim()) throw invalid("prompt", "is required for a generate task");
  if ((b.type === "optimize" || b.type === "analyze" || b.type === "expand") && !b.nodeId)
    throw invalid("nodeId", `is required for an ${b.type} task`);
  if (b.type === "fusion" && (b.sourceNodeIds?.length ?? 0) < 2) throw invalid("sourceNodeIds", "a fusion task needs at least 2 source nodes");
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

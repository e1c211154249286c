import { toProtoEnum } from "@sker/kit";
import type { Task, TaskPriority, TaskStatus, TaskType } from "@sker/contracts/store/v1/task";
import type { TaskRow } from "../db/schema.js";

export const TASK_TYPE = "TASK_TYPE_";
export const TASK_STATUS = "TASK_STATUS_";
export const TASK_PRIORITY = "TASK_PRIORITY_";

/** What tasks.options holds (REST names). */
export interface StoredOptions {
  model?: string;
  temperature?: number;
  maxTokens?: number;
}

export function taskToProto(row: TaskRow): Task {
  const options = row.options as StoredOptions;
  return {
    id: row.id,
    projectId: row.project_id,
    type: toProtoEnum<TaskType>(row.type, TASK_TYPE),
    status: toProtoEnum<TaskStatus>(row.status, TASK_STATUS),
    priority: toProtoEnum<TaskPriority>(row.priority, TASK_PRIORITY),
    nodeId: row.node_id ?? "",
    resultNodeId: row.result_node_id ?? "",
    sourceNodeIds: row.source_node_ids,
    prompt: row.prompt,
    options: { model: options.model ?? "", temperature: options.temperature, maxTokens: options.maxTokens },
    attempts: row.attempts,
    result: row.result ?? undefined,
    error: row.error_code ? { code: row.error_code, message: row.error_message ?? "" } : undefined,
    usage: { inputTokens: row.input_tokens, outputTokens: row.output_tokens, costUsd: row.cost_usd },
    provider: row.provider,
    model: row.model,
    createdBy: row.created_by,
    createdAt: row.created_at,
    calls: row.calls.map((c) => ({ ...c, at: new Date(c.at) })),
    startedAt: row.started_at ?? undefined,
    completedAt: row.completed_at ?? undefined,
    retryOf: row.retry_of ?? "",
    runId: row.run_id ?? "",
  };
}

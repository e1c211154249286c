import { invalid } from "@sker/kit";
import { TaskPriority, TaskType } from "@sker/contracts/store/v1/task";
import type { SubmitTaskRequest } from "@sker/contracts/broker/v1/broker";

// SubmitTask's input rules (DESIGN §3), checked before the store is asked, so a bad request
// costs no store call and its error names the field. The store checks them again.

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TYPES = new Set<string>([TaskType.TASK_TYPE_GENERATE, TaskType.TASK_TYPE_OPTIMIZE, TaskType.TASK_TYPE_EXPAND, TaskType.TASK_TYPE_FUSION, TaskType.TASK_TYPE_ANALYZE]);
const PRIORITIES = new Set<string>([TaskPriority.TASK_PRIORITY_UNSPECIFIED, TaskPriority.TASK_PRIORITY_LOW, TaskPriority.TASK_PRIORITY_NORMAL, TaskPriority.TASK_PRIORITY_HIGH, TaskPriority.TASK_PRIORITY_URGENT]);
export const MAX_PROMPT = 20_000;
export const MAX_SOURCES = 100;

function uuid(field: string, value: string): void {
  if (!UUID.test(value)) throw invalid(field, "must be a UUID");
}

export function validateSubmit(req: SubmitTaskRequest): void {
  if (!req.projectId) throw invalid("projectId", "is required");
  uuid("projectId", req.projectId);
  if (!TYPES.has(req.type)) throw invalid("type", "must be one of generate, optimize, expand, fusion, analyze");
  if (!PRIORITIES.has(req.priority)) throw invalid("priority", "must be one of low, normal, high, urgent");
  if (req.nodeId) uuid("nodeId", req.nodeId);
  req.sourceNodeIds.forEach((id, i) => uuid(`sourceNodeIds[${i}]`, id));
  if (req.sourceNodeIds.length > MAX_SOURCES) throw invalid("sourceNodeIds", `at most ${MAX_SOURCES} nodes`);
  if (req.prompt.length > MAX_PROMPT) throw invalid("prompt", `at most ${MAX_PROMPT} characters`);
  switch (req.type) {
    case TaskType.TASK_TYPE_GENERATE:
      if (!req.prompt.trim()) throw invalid("prompt", "is required for generate");
      break;
    case TaskType.TASK_TYPE_OPTIMIZE:
    case TaskType.TASK_TYPE_ANALYZE:
    case TaskType.TASK_TYPE_EXPAND:
      if (!req.nodeId) throw invalid("nodeId", `is required for ${req.type.replace("TASK_TYPE_", "").toLowerCase()}`);
      break;
    case TaskType.TASK_TYPE_FUSION:
      if (new Set(req.sourceNodeIds.map((s) => s.toLowerCase())).size < 2) throw invalid("sourceNodeIds", "fusion needs at least 2 distinct nodes");
      break;
  }
  const o = req.options;
  if (o) {
    if (o.model.length > 100) throw invalid("options.model", "at most 100 characters");
    if (o.temperature !== undefined && !(o.temperature >= 0 && o.temperature <= 2)) throw invalid("options.temperature", "must be between 0 and 2");
    if (o.maxTokens !== undefined && !(Number.isInteger(o.maxTokens) && o.maxTokens >= 1 && o.maxTokens <= 32_000))
      throw invalid("options.maxTokens", "must be an integer between 1 and 32000");
  }
  if (req.idempotencyKey.length > 200) throw invalid("idempotencyKey", "at most 200 characters");
}

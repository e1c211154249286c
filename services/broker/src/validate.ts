import { fromProtoEnum, invalid, isUuid } from "@sker/kit";
import { ENUMS } from "@sker/contracts/enums";
import { LIMITS } from "@sker/contracts/limits";
import { taskRuleProblem } from "@sker/contracts/task-rules";
import type { SubmitTaskRequest } from "@sker/contracts/broker/v1/broker";

// SubmitTask's input rules (docs/api.md), checked before the store is asked, so a bad request
// costs no store call and its error names the field. The store checks the same rules again;
// both read their values from the contracts' limits.

const T = LIMITS.task;

function uuid(field: string, value: string): void {
  if (!isUuid(value)) throw invalid(field, "must be a UUID");
}

export function validateSubmit(req: SubmitTaskRequest): void {
  if (!req.projectId) throw invalid("projectId", "is required");
  uuid("projectId", req.projectId);
  const type = fromProtoEnum<string>(req.type, "TASK_TYPE_");
  if (!type || !ENUMS.taskType.includes(type)) throw invalid("type", `must be one of ${ENUMS.taskType.join(", ")}`);
  const priority = fromProtoEnum<string>(req.priority, "TASK_PRIORITY_");
  if (req.priority !== "TASK_PRIORITY_UNSPECIFIED" && !(priority && ENUMS.priority.includes(priority)))
    throw invalid("priority", `must be one of ${ENUMS.priority.join(", ")}`);
  if (req.nodeId) uuid("nodeId", req.nodeId);
  req.sourceNodeIds.forEach((id, i) => uuid(`sourceNodeIds[${i}]`, id));
  if (req.sourceNodeIds.length > T.sourceNodeIds) throw invalid("sourceNodeIds", `must have at most ${T.sourceNodeIds} ids`);
  if (req.prompt.length > T.prompt) throw invalid("prompt", `must be at most ${T.prompt} characters`);
  const problem = taskRuleProblem({ type, nodeId: req.nodeId, sourceNodeIds: req.sourceNodeIds, prompt: req.prompt });
  if (problem) throw invalid(problem.field, problem.message);
  const o = req.options;
  if (o) {
    if (o.model.length > T.model) throw invalid("options.model", `must be at most ${T.model} characters`);
    if (o.temperature !== undefined && !(o.temperature >= 0 && o.temperature <= T.temperatureMax))
      throw invalid("options.temperature", `must be between 0 and ${T.temperatureMax}`);
    if (o.maxTokens !== undefined && !(Number.isInteger(o.maxTokens) && o.maxTokens >= 1 && o.maxTokens <= T.maxTokens))
      throw invalid("options.maxTokens", `must be an integer from 1 to ${T.maxTokens}`);
  }
  if (req.idempotencyKey.length > T.idempotencyKey) throw invalid("idempotencyKey", `must be at most ${T.idempotencyKey} characters`);
}

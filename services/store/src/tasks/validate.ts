import { invalid } from "@sker/kit";
import { LIMITS } from "@sker/contracts/limits";
import { taskRuleProblem } from "@sker/contracts/task-rules";
import type {
  CompleteTaskRequest,
  CreateTaskRequest,
  FailTaskRequest,
  ListTasksRequest,
  ModelCall,
  ReclaimTasksRequest,
  RenewLeaseRequest,
  StartTaskRequest,
  TaskOptions,
  TaskUsage,
} from "@sker/contracts/store/v1/task";
import type { TaskPriority, TaskStatus, TaskType } from "../db/schema.js";
import { parseEnum, requireEnum } from "../input/enum.js";
import { optionalId, parseId } from "../input/ids.js";
import { parsePage, type Page } from "../input/page.js";
import { TASK_PRIORITY, TASK_STATUS, TASK_TYPE, type StoredOptions } from "./map.js";

const T = LIMITS.task;
export const TASK_LIMITS = {
  prompt: T.prompt,
  sources: T.sourceNodeIds,
  idempotencyKey: T.idempotencyKey,
  model: T.model,
  maxTokens: T.maxTokens,
  workerId: 200,
  leaseMs: 3_600_000,
  reclaim: 1_000,
  errorCode: 100,
  errorMessage: 2_000,
} as const;

/** Reclaim hands out queued tasks that waited this long when the broker does not say. */
export const DEFAULT_QUEUED_AFTER_MS = 60_000;
export const DEFAULT_RECLAIM_LIMIT = 100;

function options(o: TaskOptions | undefined): StoredOptions {
  const out: StoredOptions = {};
  if (!o) return out;
  if (o.model.length > TASK_LIMITS.model) throw invalid("options.model", `must be at most ${TASK_LIMITS.model} characters`);
  if (o.model) out.model = o.model;
  if (o.temperature !== undefined) {
    if (!Number.isFinite(o.temperature) || o.temperature < 0 || o.temperature > T.temperatureMax)
      throw invalid("options.temperature", `must be between 0 and ${T.temperatureMax}`);
    out.temperature = o.temperature;
  }
  if (o.maxTokens !== undefined) {
    if (!Number.isInteger(o.maxTokens) || o.maxTokens < 1 || o.maxTokens > TASK_LIMITS.maxTokens) {
      throw invalid("options.maxTokens", `must be an integer from 1 to ${TASK_LIMITS.maxTokens}`);
    }
    out.maxTokens = o.maxTokens;
  }
  return out;
}

export interface NewTaskInput {
  projectId: string;
  type: TaskType;
  nodeId: string | null;
  sourceNodeIds: string[];
  prompt: string;
  options: StoredOptions;
  priority: TaskPriority;
  idempotencyKey: string | null;
  retryOf: string | null;
  /** The broker's estimate, reserved against the budgets while the task is active (graph runs: 0). */
  estimatedCostUsd?: number;
}

export function checkCreate(req: CreateTaskRequest): NewTaskInput {
  const projectId = parseId("projectId", req.projectId);
  const type = requireEnum<TaskType>("type", req.type, TASK_TYPE);
  const nodeId = optionalId("nodeId", req.nodeId);
  if (req.sourceNodeIds.length > TASK_LIMITS.sources) throw invalid("sourceNodeIds", `must have at most ${TASK_LIMITS.sources} ids`);
  const sourceNodeIds = [...new Set(req.sourceNodeIds.map((id, i) => parseId(`sourceNodeIds[${i}]`, id)))];
  if (req.prompt.length > TASK_LIMITS.prompt) throw invalid("prompt", `must be at most ${TASK_LIMITS.prompt} characters (got ${req.prompt.length})`);
  const problem = taskRuleProblem({ type, nodeId: nodeId ?? undefined, sourceNodeIds, prompt: req.prompt });
  if (problem) throw invalid(problem.field, problem.message);
  const key = req.idempotencyKey.trim();
  if (key.length > TASK_LIMITS.idempotencyKey) throw invalid("idempotencyKey", `must be at most ${TASK_LIMITS.idempotencyKey} characters`);
  return {
    projectId,
    type,
    nodeId,
    sourceNodeIds,
    prompt: req.prompt,
    options: options(req.options),
    priority: parseEnum<TaskPriority>("priority", req.priority, TASK_PRIORITY) ?? "normal",
    idempotencyKey: key || null,
    retryOf: optionalId("retryOf", req.retryOf),
    estimatedCostUsd: cost("estimatedCostUsd", req.estimatedCostUsd),
  };
}

function cost(field: string, v: number): number {
  if (!Number.isFinite(v) || v < 0 || v > 1e9) throw invalid(field, "must be an amount in USD, 0 or more");
  return v;
}

const MAX_CALLS = 100;

function calls(list: ModelCall[]): ModelCall[] {
  if (list.length > MAX_CALLS) throw invalid("calls", `at most ${MAX_CALLS} per attempt`);
  list.forEach((c, i) => {
    if (!c.alias || !c.outcome) throw invalid(`calls[${i}]`, "needs alias and outcome");
    cost(`calls[${i}].costUsd`, c.costUsd);
    for (const k of ["inputTokens", "outputTokens", "durationMs"] as const)
      if (!Number.isInteger(c[k]) || c[k] < 0) throw invalid(`calls[${i}].${k}`, "must be a non-negative integer");
  });
  return list;
}

export interface TaskFilter {
  projectId: string;
  status?: TaskStatus;
  page: Page;
}

export function checkList(req: ListTasksRequest): TaskFilter {
  return { projectId: parseId("projectId", req.projectId), status: parseEnum<TaskStatus>("status", req.status, TASK_STATUS), page: parsePage(req.page) };
}

function workerId(value: string, { required = true } = {}): string {
  if (required && value.trim() === "") throw invalid("workerId", "is required");
  if (value.length > TASK_LIMITS.workerId) throw invalid("workerId", `must be at most ${TASK_LIMITS.workerId} characters`);
  return value;
}

function leaseMs(value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > TASK_LIMITS.leaseMs) throw invalid("leaseMs", `must be an integer from 1 to ${TASK_LIMITS.leaseMs}`);
  return value;
}

export function checkLease(req: StartTaskRequest | RenewLeaseRequest): { id: string; workerId: string; leaseMs: number } {
  return { id: parseId("id", req.id), workerId: workerId(req.workerId), leaseMs: leaseMs(req.leaseMs) };
}

/** StartTask's bounds: attempts, prompt budget, running caps; 0 means none. */
export function checkStart(req: StartTaskRequest) {
  const bound = (field: string, v: number) => {
    if (!Number.isInteger(v) || v < 0) throw invalid(field, "must be a non-negative integer");
    return v;
  };
  return {
    ...checkLease(req),
    maxAttempts: bound("maxAttempts", req.maxAttempts),
    contextBudgetChars: bound("contextBudgetChars", req.contextBudgetChars),
    maxRunningPerProject: bound("maxRunningPerProject", req.maxRunningPerProject),
    maxRunningPerUser: bound("maxRunningPerUser", req.maxRunningPerUser),
    modelWindowChars: windows(req.modelWindowChars ?? {}),
  };
}

/** Model alias → context window in characters (StartTask); aliases as long as options.model may be. */
function windows(raw: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [alias, chars] of Object.entries(raw)) {
    if (alias.length > LIMITS.task.model) throw invalid("modelWindowChars", `aliases are at most ${LIMITS.task.model} characters`);
    if (!Number.isInteger(chars) || chars < 1) throw invalid(`modelWindowChars.${alias}`, "must be a positive integer");
    out[alias] = chars;
  }
  return out;
}

function usage(u: TaskUsage | undefined): { input_tokens: number; output_tokens: number } {
  const n = (field: string, v: number) => {
    if (!Number.isInteger(v) || v < 0) throw invalid(field, "must be a non-negative integer");
    return v;
  };
  return { input_tokens: n("usage.inputTokens", u?.inputTokens ?? 0), output_tokens: n("usage.outputTokens", u?.outputTokens ?? 0) };
}

function label(field: string, v: string): string {
  if (v.length > TASK_LIMITS.model) throw invalid(field, `must be at most ${TASK_LIMITS.model} characters`);
  return v;
}

export function checkComplete(req: CompleteTaskRequest) {
  if (!req.output) throw invalid("output", "is required");
  return {
    id: parseId("id", req.id),
    workerId: workerId(req.workerId),
    output: req.output,
    usage: usage(req.usage),
    provider: label("provider", req.provider),
    model: label("model", req.model),
    contextCut: req.contextCut,
    calls: calls(req.calls),
  };
}

export function checkFail(req: FailTaskRequest) {
  const code = req.error?.code.trim() ?? "";
  if (!code) throw invalid("error.code", "is required");
  if (code.length > TASK_LIMITS.errorCode) throw invalid("error.code", `must be at most ${TASK_LIMITS.errorCode} characters`);
  // A provider's message can be long; keep the start rather than refuse the failure.
  const message = (req.error?.message ?? "").slice(0, TASK_LIMITS.errorMessage);
  return { id: parseId("id", req.id), workerId: workerId(req.workerId, { required: false }), code, message, final: req.final, calls: calls(req.calls) };
}

export function checkReclaim(req: ReclaimTasksRequest): { queuedAfterMs: number; limit: number } {
  if (!Number.isInteger(req.queuedAfterMs) || req.queuedAfterMs < 0) throw invalid("queuedAfterMs", "must be a non-negative integer");
  if (!Number.isInteger(req.limit) || req.limit < 0 || req.limit > TASK_LIMITS.reclaim) throw invalid("limit", `must be between 1 and ${TASK_LIMITS.reclaim}`);
  return { queuedAfterMs: req.queuedAfterMs || DEFAULT_QUEUED_AFTER_MS, limit: req.limit || DEFAULT_RECLAIM_LIMIT };
}

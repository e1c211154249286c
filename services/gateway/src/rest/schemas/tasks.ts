import { Type, type Static } from "typebox";
import { ENUMS } from "@sker/contracts/enums";
import { LIMITS } from "@sker/contracts/limits";
import { closed, en, enumOut, nstr, nullableEnumOut, open, opt, pageQuery, partial, str, time, uuid } from "./common.js";

// AI tasks: what a task is asked to do (type, sources, prompt, options) and how it went.

const T = LIMITS.task;

export const taskOptions = open({ model: { type: "string" }, temperature: { type: "number" }, maxTokens: { type: "integer" } });
export const taskError = { type: ["object", "null"], properties: { code: { type: "string" }, message: { type: "string" } } };

export const Task = open({
  id: { type: "string" },
  projectId: { type: "string" },
  type: nullableEnumOut(ENUMS.taskType),
  status: nullableEnumOut(ENUMS.taskStatus),
  priority: enumOut(ENUMS.priority),
  nodeId: nstr,
  resultNodeId: nstr,
  sourceNodeIds: { type: "array", items: { type: "string" } },
  prompt: { type: "string" },
  options: taskOptions,
  attempts: { type: "integer" },
  result: { type: ["object", "null"], additionalProperties: true },
  error: taskError,
  usage: { type: ["object", "null"], properties: { inputTokens: { type: "integer" }, outputTokens: { type: "integer" }, costUsd: { type: "number" } } },
  provider: { type: "string" },
  model: { type: "string" },
  calls: {
    type: "array",
    description: "Every provider call of the task in order: the model alias asked, the provider and its model id, tokens, cost, and how it ended (ok, an error code, CIRCUIT_OPEN)",
    items: open({
      alias: { type: "string" },
      provider: { type: "string" },
      model: { type: "string" },
      inputTokens: { type: "integer" },
      outputTokens: { type: "integer" },
      costUsd: { type: "number" },
      outcome: { type: "string" },
      message: { type: "string" },
      durationMs: { type: "integer" },
      at: time,
    }),
  },
  createdBy: { type: "string" },
  createdAt: time,
  startedAt: time,
  completedAt: time,
  retryOf: nstr,
  runId: nstr,
});

export const taskOptionsIn = partial({
  model: str(T.model),
  temperature: Type.Number({ minimum: 0, maximum: T.temperatureMax }),
  maxTokens: Type.Integer({ minimum: 1, maximum: T.maxTokens }),
});

/** POST /ai-tasks, and the WebSocket's AI_GENERATE_REQUEST (same validator). */
export const submitTask = closed({
  projectId: uuid,
  type: en(ENUMS.taskType),
  nodeId: opt(uuid),
  sourceNodeIds: opt(Type.Array(uuid, { maxItems: T.sourceNodeIds, uniqueItems: true })),
  prompt: opt(str(T.prompt)),
  options: opt(taskOptionsIn),
  priority: opt(en(ENUMS.priority)),
});
export type TaskBody = Static<typeof submitTask>;

export const listTasksQuery = Type.Object({ projectId: uuid, status: opt(en(ENUMS.taskStatus)), ...pageQuery });

import { ENUMS } from "@sker/contracts/enums";
import { LIMITS } from "@sker/contracts/limits";
import { invalid } from "@sker/kit";
import type { Recipe } from "@sker/contracts/store/v1/node";
import type { StoredRecipe, TaskType } from "../db/schema.js";

// A node's recipe (what makes it an AI node): checked like a task's fields, stored as jsonb in
// REST names, answered as the proto message.

const TYPES = ENUMS.taskType as readonly TaskType[];
const { prompt: PROMPT_MAX, model: MODEL_MAX, maxTokens: MAX_TOKENS, temperatureMax: TEMPERATURE_MAX } = LIMITS.task;

export function checkRecipe(field: string, r: Recipe): StoredRecipe {
  if (!TYPES.includes(r.type as TaskType)) throw invalid(`${field}.type`, `must be one of ${TYPES.join(", ")}`);
  if (r.prompt.length > PROMPT_MAX) throw invalid(`${field}.prompt`, `must be at most ${PROMPT_MAX} characters`);
  if (r.model.length > MODEL_MAX) throw invalid(`${field}.options.model`, `must be at most ${MODEL_MAX} characters`);
  const options: StoredRecipe["options"] = {};
  if (r.model) options.model = r.model;
  if (r.temperature !== undefined) {
    if (!Number.isFinite(r.temperature) || r.temperature < 0 || r.temperature > TEMPERATURE_MAX) throw invalid(`${field}.options.temperature`, `must be between 0 and ${TEMPERATURE_MAX}`);
    options.temperature = r.temperature;
  }
  if (r.maxTokens !== undefined) {
    if (!Number.isInteger(r.maxTokens) || r.maxTokens < 1 || r.maxTokens > MAX_TOKENS) throw invalid(`${field}.options.maxTokens`, `must be an integer from 1 to ${MAX_TOKENS}`);
    options.maxTokens = r.maxTokens;
  }
  return { type: r.type as TaskType, ...(r.prompt ? { prompt: r.prompt } : {}), ...(Object.keys(options).length ? { options } : {}) };
}

export function recipeToProto(r: StoredRecipe | null): Recipe | undefined {
  if (!r) return undefined;
  return { type: r.type, prompt: r.prompt ?? "", model: r.options?.model ?? "", temperature: r.options?.temperature, maxTokens: r.options?.maxTokens };
}

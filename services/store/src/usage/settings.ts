import { invalid } from "@sker/kit";

// A project's AI settings live in its free-form settings under `ai`:
//   { "ai": { "model": "smart", "monthlyBudgetUsd": 50 } }
// model is the default alias for its tasks (the broker checks it against the models file);
// monthlyBudgetUsd is set by owners only.

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Rejects a malformed `ai` block with the field named. */
export function checkAiSettings(settings: Record<string, unknown> | undefined): void {
  const ai = settings?.ai;
  if (ai === undefined) return;
  if (!isObject(ai)) throw invalid("settings.ai", "must be an object");
  if (ai.model !== undefined && (typeof ai.model !== "string" || ai.model.length > 100)) throw invalid("settings.ai.model", "must be a model alias (see GET /api/v1/ai/models)");
  const b = ai.monthlyBudgetUsd;
  if (b !== undefined && b !== null && (typeof b !== "number" || !Number.isFinite(b) || b < 0 || b > 1e9)) throw invalid("settings.ai.monthlyBudgetUsd", "must be an amount in USD, 0 or more");
}

/** The project's monthly budget in USD; undefined: none set. */
export function projectBudgetOf(settings: Record<string, unknown> | undefined): number | undefined {
  const b = isObject(settings?.ai) ? (settings.ai as Record<string, unknown>).monthlyBudgetUsd : undefined;
  return typeof b === "number" ? b : undefined;
}

/** The project's default model alias; undefined: none set. */
export function projectModelOf(settings: Record<string, unknown> | undefined): string | undefined {
  const m = isObject(settings?.ai) ? (settings.ai as Record<string, unknown>).model : undefined;
  return typeof m === "string" && m ? m : undefined;
}

import { invalid } from "@sker/kit";
import type { CreateTaskRequest } from "@sker/contracts/store/v1/task";
import type { StoreDeps } from "../deps.js";
import { cachedProject } from "../projects/cache.js";
import { projectModelOf } from "../usage/settings.js";
import { TASK_LIMITS } from "./validate.js";

// A submission that names no model runs on its project's default model (settings.ai.model) when
// the deployment offers it, else on the deployment's default. The broker used to read the project
// for that (a whole store call before CreateTask, 5–6 ms of an idle submission, and a setting
// change seen only after its 10 s memory); now it sends what the task would cost under each model
// it offers and the store, which holds the settings, picks while it checks the caller's role.

/** The broker's offer: every alias it can run, priced for this submission, and its default. */
export interface ModelChoice {
  costByModel: ReadonlyMap<string, number>;
  defaultModel: string;
}

/** The offer, when the submission leaves the model to the store; undefined when it names one. */
export function checkModelChoice(req: Pick<CreateTaskRequest, "options" | "estimatedCostByModel" | "defaultModel">): ModelChoice | undefined {
  if (req.options?.model) return undefined;
  const entries = Object.entries(req.estimatedCostByModel ?? {});
  if (entries.length === 0 && !req.defaultModel) return undefined;
  for (const [alias, usd] of entries) {
    if (!alias || alias.length > TASK_LIMITS.model) throw invalid("estimatedCostByModel", `aliases are 1 to ${TASK_LIMITS.model} characters`);
    if (!Number.isFinite(usd) || usd < 0 || usd > 1e9) throw invalid(`estimatedCostByModel.${alias}`, "must be an amount in USD, 0 or more");
  }
  const costByModel = new Map(entries);
  if (!costByModel.has(req.defaultModel)) throw invalid("defaultModel", "must be one of the aliases of estimatedCostByModel");
  return { costByModel, defaultModel: req.defaultModel };
}

/**
 * The project's default model alias, read beside the role check (undefined: none set, or no
 * such project). From the project cache, which every project write clears after it commits, so
 * a submission in a busy project costs no statement for it and a changed default applies at once.
 */
export async function projectDefaultModel(deps: StoreDeps, projectId: string): Promise<string | undefined> {
  const row = await cachedProject(deps, projectId);
  return projectModelOf(row?.settings as Record<string, unknown> | undefined);
}

/** The model the task runs on and what it reserves against the budgets. */
export function choose(choice: ModelChoice, projectModel: string | undefined): { model: string; estimatedCostUsd: number } {
  const model = projectModel && choice.costByModel.has(projectModel) ? projectModel : choice.defaultModel;
  return { model, estimatedCostUsd: choice.costByModel.get(model)! };
}

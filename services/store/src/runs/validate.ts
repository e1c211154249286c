import { LIMITS } from "@sker/contracts/limits";
import type { Rate } from "@sker/contracts/estimate";
import { invalid } from "@sker/kit";
import type { CreateRunRequest, ListRunsRequest } from "@sker/contracts/store/v1/run";
import { parseId } from "../input/ids.js";
import { parsePage, type Page } from "../input/page.js";

export function checkCreateRun(req: CreateRunRequest): { projectId: string; targets: string[]; force: boolean; rates: Record<string, Rate> } {
  const projectId = parseId("projectId", req.projectId);
  if (req.targets.length > LIMITS.run.targets) throw invalid("targets", `must have at most ${LIMITS.run.targets} node ids`);
  const targets = [...new Set(req.targets.map((id, i) => parseId(`targets[${i}]`, id)))];
  return { projectId, targets, force: req.force, rates: rates(req.modelRates ?? {}) };
}

/** Model alias → USD per million tokens in and out (the broker's prices). */
function rates(raw: CreateRunRequest["modelRates"]): Record<string, Rate> {
  const out: Record<string, Rate> = {};
  const price = (field: string, v: number) => {
    if (!Number.isFinite(v) || v < 0 || v > 1e6) throw invalid(field, "must be a price in USD per million tokens, 0 or more");
    return v;
  };
  for (const [alias, r] of Object.entries(raw)) {
    if (alias.length > LIMITS.task.model) throw invalid("modelRates", `aliases are at most ${LIMITS.task.model} characters`);
    out[alias] = { inputPerMillion: price(`modelRates.${alias}.inputPerMillion`, r.inputPerMillion), outputPerMillion: price(`modelRates.${alias}.outputPerMillion`, r.outputPerMillion) };
  }
  return out;
}

export function checkListRuns(req: ListRunsRequest): { projectId: string; page: Page } {
  return { projectId: parseId("projectId", req.projectId), page: parsePage(req.page) };
}

import { LIMITS } from "@sker/contracts/limits";
import { invalid } from "@sker/kit";
import type { CreateRunRequest, ListRunsRequest } from "@sker/contracts/store/v1/run";
import { parseId } from "../input/ids.js";
import { parsePage, type Page } from "../input/page.js";

export function checkCreateRun(req: CreateRunRequest): { projectId: string; targets: string[]; force: boolean } {
  const projectId = parseId("projectId", req.projectId);
  if (req.targets.length > LIMITS.run.targets) throw invalid("targets", `must have at most ${LIMITS.run.targets} node ids`);
  const targets = [...new Set(req.targets.map((id, i) => parseId(`targets[${i}]`, id)))];
  return { projectId, targets, force: req.force };
}

export function checkListRuns(req: ListRunsRequest): { projectId: string; page: Page } {
  return { projectId: parseId("projectId", req.projectId), page: parsePage(req.page) };
}

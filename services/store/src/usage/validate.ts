import { invalid } from "@sker/kit";
import { UsageScope, type GetUsageRequest, type SetUserBudgetRequest } from "@sker/contracts/store/v1/usage";
import { parseId } from "../input/ids.js";
import { monthStart, resetsAt } from "./budget.js";
import type { GroupBy } from "./repo.js";

const GROUPS: Partial<Record<UsageScope, GroupBy[]>> = {
  [UsageScope.USAGE_SCOPE_PROJECT]: ["day", "user", "model"],
  [UsageScope.USAGE_SCOPE_ME]: ["day", "model", "project"],
  [UsageScope.USAGE_SCOPE_SYSTEM]: ["day", "user", "model", "project"],
};
const MAX_RANGE_DAYS = 400;

export function checkGetUsage(req: GetUsageRequest) {
  const scope = req.scope;
  const groups = GROUPS[scope];
  if (!groups) throw invalid("scope", "must be project, me or system");
  const projectId = scope === UsageScope.USAGE_SCOPE_PROJECT ? parseId("projectId", req.projectId) : undefined;
  const groupBy = req.groupBy as GroupBy;
  if (groupBy && !groups.includes(groupBy)) throw invalid("groupBy", `must be one of ${groups.join(", ")}`);
  const from = req.from ?? monthStart();
  const to = req.to ?? resetsAt();
  if (Number.isNaN(from.getTime())) throw invalid("from", "must be a date");
  if (Number.isNaN(to.getTime())) throw invalid("to", "must be a date");
  if (to <= from) throw invalid("to", "must be after from");
  if (to.getTime() - from.getTime() > MAX_RANGE_DAYS * 86_400_000) throw invalid("to", `at most ${MAX_RANGE_DAYS} days after from`);
  return { scope, projectId, groupBy, from, to };
}

export function checkSetUserBudget(req: SetUserBudgetRequest) {
  const userId = parseId("userId", req.userId);
  const v = req.monthlyBudgetUsd;
  if (v !== undefined && !(Number.isFinite(v) && v >= 0 && v <= 1e9)) throw invalid("monthlyBudgetUsd", "must be an amount in USD, 0 or more");
  return { userId, usd: v ?? null };
}

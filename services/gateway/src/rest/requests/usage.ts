import type { Static } from "typebox";
import type { GetUsageRequest, SetUserBudgetRequest, UsageScope } from "@sker/contracts/store/v1/usage";
import type { setBudget, usageQuery } from "../schemas/usage.js";

// REST → proto for the usage reports.

export const getUsage = (scope: UsageScope, q: Static<ReturnType<typeof usageQuery>>, projectId = ""): GetUsageRequest => ({
  scope,
  projectId,
  from: q.from ? new Date(q.from) : undefined,
  to: q.to ? new Date(q.to) : undefined,
  groupBy: q.groupBy ?? "",
});

/** null: the user's budget is the deployment's default again. */
export const setUserBudget = (userId: string, b: Static<typeof setBudget>): SetUserBudgetRequest => ({ userId, monthlyBudgetUsd: b.monthlyBudgetUsd ?? undefined });

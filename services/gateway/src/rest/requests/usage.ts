import type { Static } from "typebox";
import type { GetUsageRequest, UsageScope } from "@sker/contracts/store/v1/usage";
import type { usageQuery } from "../schemas/usage.js";

// REST → proto for the usage reports.

export const getUsage = (scope: UsageScope, q: Static<ReturnType<typeof usageQuery>>, projectId = ""): GetUsageRequest => ({
  scope,
  projectId,
  from: q.from ? new Date(q.from) : undefined,
  to: q.to ? new Date(q.to) : undefined,
  groupBy: q.groupBy ?? "",
});

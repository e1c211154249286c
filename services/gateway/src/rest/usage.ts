import { UsageScope, type Budget, type GetUsageResponse, type UsageRow } from "@sker/contracts/store/v1/usage";

// The usage report as REST shows it, and the query it comes from.

export interface UsageQuery {
  from?: string;
  to?: string;
  groupBy?: string;
}

const when = { type: "string", anyOf: [{ format: "date-time" }, { format: "date" }], description: "ISO date or date-time (UTC)" };

export const usageQuery = (groups: string[]) => ({
  type: "object",
  additionalProperties: false,
  properties: { from: { ...when, description: "start, inclusive (default: the 1st of this month, UTC)" }, to: { ...when, description: "end, exclusive (default: the 1st of next month)" }, groupBy: { type: "string", enum: groups } },
});

const row = { type: "object", properties: { key: { type: "string" }, inputTokens: { type: "integer" }, outputTokens: { type: "integer" }, costUsd: { type: "number" }, calls: { type: "integer" } } };

export const BudgetSchema = {
  type: ["object", "null"],
  description: "null: no budget applies",
  properties: { monthlyBudgetUsd: { type: "number" }, spentUsd: { type: "number" }, reservedUsd: { type: "number" }, resetsAt: { type: "string", format: "date-time" } },
};

export const UsageReport = {
  type: "object",
  properties: {
    from: { type: "string", format: "date-time" },
    to: { type: "string", format: "date-time" },
    groupBy: { type: ["string", "null"] },
    total: row,
    items: { type: "array", items: row },
    budget: BudgetSchema,
  },
};

export const usageRequest = (scope: UsageScope, q: UsageQuery, projectId = "") => ({
  scope,
  projectId,
  from: q.from ? new Date(q.from) : undefined,
  to: q.to ? new Date(q.to) : undefined,
  groupBy: q.groupBy ?? "",
});

const rowOut = (r: UsageRow | undefined) => ({ key: r?.key ?? "", inputTokens: r?.inputTokens ?? 0, outputTokens: r?.outputTokens ?? 0, costUsd: r?.costUsd ?? 0, calls: r?.calls ?? 0 });

export const budgetOut = (b: Budget | undefined) =>
  !b || b.unlimited ? null : { monthlyBudgetUsd: b.limitUsd, spentUsd: b.spentUsd, reservedUsd: b.reservedUsd, resetsAt: b.resetsAt?.toISOString() };

export const usageOut = (res: GetUsageResponse, groupBy: string | undefined) => ({
  from: res.from?.toISOString(),
  to: res.to?.toISOString(),
  groupBy: groupBy ?? null,
  total: rowOut(res.total),
  items: res.items.map(rowOut),
  ...(res.budget ? { budget: budgetOut(res.budget) } : {}),
});

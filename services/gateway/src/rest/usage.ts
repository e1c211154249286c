import type { Budget, GetUsageResponse, UsageRow } from "@sker/contracts/store/v1/usage";

// The usage report and budgets as REST shows them (proto → REST).

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

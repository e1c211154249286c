import { Type } from "typebox";
import { closed, en, opt, orNull } from "./common.js";

// AI spending: the usage report, its query, and monthly budgets.

const when = (description: string) => Type.Unsafe<string>({ type: "string", anyOf: [{ format: "date-time" }, { format: "date" }], description });

export const usageQuery = (groups: string[]) =>
  closed({
    from: opt(when("start, inclusive (default: the 1st of this month, UTC)")),
    to: opt(when("end, exclusive (default: the 1st of next month)")),
    groupBy: opt(en(groups)),
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

export const budgetParams = closed({ userId: Type.String({ format: "uuid" }) });
export const setBudget = closed({ monthlyBudgetUsd: orNull(Type.Number({ minimum: 0, maximum: 1e9 })) });

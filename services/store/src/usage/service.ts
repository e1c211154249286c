import { forbidden, notFound, type CallContext, type Implementation } from "@sker/kit";
import { UsageScope, type Budget, type UsageServiceService } from "@sker/contracts/store/v1/usage";
import { requireRole, userOf } from "../authz.js";
import type { StoreDeps } from "../deps.js";
import { budgetState, userLimit, type BudgetScope } from "./budget.js";
import { projectSettings, setUserBudget, usageSums, type Scope } from "./repo.js";
import { projectBudgetOf } from "./settings.js";
import { checkGetUsage, checkSetUserBudget } from "./validate.js";

/** Read from the database each time, not from the token: a demoted admin stops at once. */
async function requireAdmin(deps: StoreDeps, ctx: CallContext): Promise<void> {
  const row = await deps.db.selectFrom("users").select("role").where("id", "=", userOf(ctx.caller)).executeTakeFirst();
  if (row?.role !== "admin") throw forbidden("administrators only");
}

async function budgetOf(deps: StoreDeps, scope: BudgetScope, limit: number | undefined): Promise<Budget> {
  if (limit === undefined) return { unlimited: true, limitUsd: 0, spentUsd: 0, reservedUsd: 0, resetsAt: undefined };
  const s = await budgetState(deps.db, scope, limit);
  return { unlimited: false, limitUsd: s.limitUsd, spentUsd: s.spentUsd, reservedUsd: s.reservedUsd, resetsAt: s.resetsAt };
}

/** Usage reports from the ledger, and the admins' per-user budget override. */
export function usageService(deps: StoreDeps): Implementation<typeof UsageServiceService> {
  return {
    async getUsage(req, ctx) {
      const q = checkGetUsage(req);
      let scope: Scope = "all";
      let budget: Budget | undefined;
      if (q.scope === UsageScope.USAGE_SCOPE_PROJECT) {
        // Spending is the owners' and editors' business; viewers get FORBIDDEN, strangers NOT_FOUND.
        await requireRole(deps, ctx, q.projectId!, "editor");
        scope = { projectId: q.projectId! };
        budget = await budgetOf(deps, scope, projectBudgetOf(await projectSettings(deps.db, q.projectId!)));
      } else if (q.scope === UsageScope.USAGE_SCOPE_ME) {
        scope = { userId: userOf(ctx.caller) };
        budget = await budgetOf(deps, scope, await userLimit(deps.db, deps, scope.userId));
      } else {
        await requireAdmin(deps, ctx);
      }
      const [items, totals] = await Promise.all([q.groupBy ? usageSums(deps.db, scope, q.from, q.to, q.groupBy) : Promise.resolve([]), usageSums(deps.db, scope, q.from, q.to, "")]);
      const total = totals[0] ?? { key: "", inputTokens: 0, outputTokens: 0, costUsd: 0, calls: 0 };
      return { items, total, from: q.from, to: q.to, budget };
    },

    async setUserBudget(req, ctx) {
      await requireAdmin(deps, ctx);
      const { userId, usd } = checkSetUserBudget(req);
      if (!(await setUserBudget(deps.db, userId, usd))) throw notFound("user");
      return { budget: await budgetOf(deps, { userId }, await userLimit(deps.db, deps, userId)) };
    },
  };
}

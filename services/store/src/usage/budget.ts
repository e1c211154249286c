import { AppError, forbidden } from "@sker/kit";
import type { Kysely } from "kysely";
import type { Database } from "../db/schema.js";
import type { StoreDeps } from "../deps.js";
import { projectSettings, reservedBy, spentSince, userBudgetOverride } from "./repo.js";
import { projectBudgetOf } from "./settings.js";

type Db = Kysely<Database>;

// Budgets are per calendar month in UTC: spent is the ledger since the 1st, reserved is what
// queued and running tasks may still cost (their estimates), and a submission must fit beside
// both. A running task that crosses the line is let finish: it was admitted on its estimate.

export const monthStart = (now = new Date()) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
export const resetsAt = (now = new Date()) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));

export interface BudgetState {
  limitUsd: number;
  spentUsd: number;
  reservedUsd: number;
  resetsAt: Date;
}

export type BudgetScope = { projectId: string } | { userId: string };

export async function budgetState(db: Db, scope: BudgetScope, limitUsd: number): Promise<BudgetState> {
  const [spentUsd, reservedUsd] = await Promise.all([spentSince(db, scope, monthStart()), reservedBy(db, scope)]);
  return { limitUsd, spentUsd, reservedUsd, resetsAt: resetsAt() };
}

/** The user's budget: an admin's override, else AI_USER_MONTHLY_BUDGET_USD; undefined: none. */
export async function userLimit(db: Db, deps: StoreDeps, userId: string, opts: { lock?: boolean } = {}): Promise<number | undefined> {
  const override = await userBudgetOverride(db, userId, opts);
  return override ?? deps.config.userMonthlyBudgetUsd;
}

/** Rounded for messages and details: budgets are read by people. */
const cents = (usd: number) => Math.round(usd * 1e6) / 1e6;

function refuse(scope: "project" | "user", s: BudgetState): never {
  throw new AppError(
    "BUDGET_EXCEEDED",
    `the ${scope}'s monthly AI budget of ${s.limitUsd} USD is used up: ${cents(s.spentUsd)} spent, ${cents(s.reservedUsd)} held by queued and running tasks`,
    { scope, budget: s.limitUsd, spent: cents(s.spentUsd), reserved: cents(s.reservedUsd), resetsAt: s.resetsAt.toISOString() },
  );
}

/**
 * In CreateTask's transaction, before the task row (its reservation) is inserted. The project
 * row, then the user row, are locked first, so concurrent submissions against one budget are
 * checked one after the other, each seeing the reservations of those committed before it.
 * A free model (estimate 0) always passes, and nothing is locked where no budget is set.
 */
export async function admitOrRefuse(trx: Db, deps: StoreDeps, projectId: string, userId: string, estimateUsd: number): Promise<void> {
  if (estimateUsd <= 0) return;
  // Unlocked first: with no budget set (the common case) nothing is serialized.
  const hasProjectLimit = projectBudgetOf(await projectSettings(trx, projectId)) !== undefined;
  const hasUserLimit = (await userLimit(trx, deps, userId)) !== undefined;
  if (!hasProjectLimit && !hasUserLimit) return;
  const projectLimit = projectBudgetOf(await projectSettings(trx, projectId, { lock: true }));
  const userMax = hasUserLimit ? await userLimit(trx, deps, userId, { lock: true }) : undefined;
  if (projectLimit !== undefined) {
    const s = await budgetState(trx, { projectId }, projectLimit);
    if (s.spentUsd + s.reservedUsd + estimateUsd > projectLimit) refuse("project", s);
  }
  if (userMax !== undefined) {
    const s = await budgetState(trx, { userId }, userMax);
    if (s.spentUsd + s.reservedUsd + estimateUsd > userMax) refuse("user", s);
  }
}

/** Editors may change a project's settings but not its budget: that is the owners' call. */
export async function keepBudget(trx: Db, projectId: string, newSettingsJson: string): Promise<void> {
  const before = projectBudgetOf(await projectSettings(trx, projectId, { lock: true }));
  const after = projectBudgetOf(JSON.parse(newSettingsJson) as Record<string, unknown>);
  if (before !== after) throw forbidden("only owners set settings.ai.monthlyBudgetUsd");
}

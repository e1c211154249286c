import { sql, type Kysely } from "kysely";
import type { Database } from "../db/schema.js";

type Db = Kysely<Database>;

export type Scope = { projectId: string } | { userId: string } | "all";

const where = (scope: Scope) =>
  scope === "all" ? sql`true` : "projectId" in scope ? sql`project_id = ${scope.projectId}::uuid` : sql`user_id = ${scope.userId}::uuid`;

/** Ledger total of a project or a user since `from`. */
export async function spentSince(db: Db, scope: { projectId: string } | { userId: string }, from: Date): Promise<number> {
  const { rows } = await sql<{ spent: number | null }>`SELECT sum(cost_usd) AS spent FROM usage_ledger WHERE ${where(scope)} AND at >= ${from}`.execute(db);
  return Number(rows[0]?.spent ?? 0);
}

/** What queued and running tasks hold against a budget, and the nodes of running graph runs not queued yet. */
export async function reservedBy(db: Db, scope: { projectId: string } | { userId: string }): Promise<number> {
  const col = "projectId" in scope ? sql`project_id = ${scope.projectId}::uuid` : sql`created_by = ${scope.userId}::uuid`;
  const { rows } = await sql<{ reserved: number | null }>`
    SELECT (SELECT coalesce(sum(estimated_cost_usd), 0) FROM tasks WHERE ${col} AND status IN ('queued', 'running'))
         + (SELECT coalesce(sum(rn.estimated_cost_usd), 0) FROM runs r JOIN run_nodes rn ON rn.run_id = r.id
            WHERE r.${col} AND r.status = 'running' AND rn.state = 'pending') AS reserved`.execute(db);
  return Number(rows[0]?.reserved ?? 0);
}

export type GroupBy = "day" | "user" | "model" | "project" | "";

const KEY: Record<Exclude<GroupBy, "">, ReturnType<typeof sql>> = {
  day: sql`to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`,
  user: sql`user_id::text`,
  model: sql`alias`,
  project: sql`project_id::text`,
};

export interface UsageSum {
  key: string;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  calls: number;
}

/** Ledger sums over [from, to), per group (ordered by key) or one total row (key ""). */
export async function usageSums(db: Db, scope: Scope, from: Date, to: Date, groupBy: GroupBy): Promise<UsageSum[]> {
  const key = groupBy ? KEY[groupBy] : sql`''`;
  const { rows } = await sql<{ key: string; input: number | null; output: number | null; cost: number | null; calls: number }>`
    SELECT ${key} AS key, sum(input_tokens) AS input, sum(output_tokens) AS output, sum(cost_usd) AS cost, count(*) AS calls
    FROM usage_ledger WHERE ${where(scope)} AND at >= ${from} AND at < ${to}
    GROUP BY 1 ORDER BY 1`.execute(db);
  return rows.map((r) => ({ key: r.key, inputTokens: Number(r.input ?? 0), outputTokens: Number(r.output ?? 0), costUsd: Number(r.cost ?? 0), calls: Number(r.calls) }));
}

export async function setUserBudget(db: Db, userId: string, usd: number | null): Promise<boolean> {
  const res = await db.updateTable("users").set({ ai_monthly_budget_usd: usd }).where("id", "=", userId).executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

export async function userBudgetOverride(db: Db, userId: string, { lock = false } = {}): Promise<number | null | undefined> {
  let q = db.selectFrom("users").select("ai_monthly_budget_usd").where("id", "=", userId);
  if (lock) q = q.forUpdate();
  const row = await q.executeTakeFirst();
  return row ? row.ai_monthly_budget_usd : undefined;
}

export async function projectSettings(db: Db, projectId: string, { lock = false } = {}): Promise<Record<string, unknown> | undefined> {
  let q = db.selectFrom("projects").select("settings").where("id", "=", projectId);
  if (lock) q = q.forUpdate();
  const row = await q.executeTakeFirst();
  return row?.settings as Record<string, unknown> | undefined;
}

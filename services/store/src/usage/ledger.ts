import { sql, type Insertable, type RawBuilder, type Transaction } from "kysely";
import type { ModelCall } from "@sker/contracts/store/v1/task";
import type { Database, StoredCall, TaskRow, UsageLedgerTable } from "../db/schema.js";
import { appendEvent, taskActor } from "../events/append.js";
import { payload } from "../events/payload.js";
import { monthStart, resetsAt } from "./budget.js";
import { projectSettings, spentSince } from "./repo.js";
import { projectBudgetOf } from "./settings.js";

type Trx = Transaction<Database>;

const WARN_AT = 0.8;

const clean = (n: number) => (Number.isFinite(n) && n > 0 ? n : 0);

export function toStored(c: ModelCall): StoredCall {
  return {
    alias: c.alias.slice(0, 100),
    provider: c.provider.slice(0, 100),
    model: c.model.slice(0, 200),
    inputTokens: Math.trunc(clean(c.inputTokens)),
    outputTokens: Math.trunc(clean(c.outputTokens)),
    costUsd: clean(c.costUsd),
    outcome: c.outcome.slice(0, 100),
    message: c.message.slice(0, 500),
    durationMs: Math.trunc(clean(c.durationMs)),
    at: (c.at ?? new Date()).toISOString(),
  };
}

/**
 * In the transaction that records an attempt's outcome: its calls join the task's list, those
 * that used tokens become ledger rows (billed to the task's project and its submitter), and a
 * project that crosses 80% of its budget gets one `budget.warning` event. With `later`, the
 * task row and the ledger rows are left to the caller, which sets `taskSet` in its own update
 * of the row and inserts `ledger` (CompleteTask: both in its last statement).
 */
export interface Recorded {
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  /** With `{ later: true }`: what the caller must set on the task row in its own update. */
  taskSet: { calls: RawBuilder<string>; cost_usd: RawBuilder<number> } | undefined;
  /** The calls the task row gains (those it did not have yet). */
  stored: StoredCall[];
  /** With `{ later: true }`: the ledger rows the caller must insert in its transaction (insertLedger). */
  ledger: Insertable<UsageLedgerTable>[];
}

/** The ledger rows recordCalls left to its caller; nothing to do for none. */
export async function insertLedger(trx: Trx, rows: Insertable<UsageLedgerTable>[]): Promise<void> {
  if (rows.length) await trx.insertInto("usage_ledger").values(rows).execute();
}

/** The task row's share of recordCalls: its calls list and cost grow. */
const callsSet = (calls: StoredCall[], costUsd: number) => ({ calls: sql<string>`calls || ${JSON.stringify(calls)}::jsonb`, cost_usd: sql<number>`cost_usd + ${costUsd}` });

export async function recordCalls(trx: Trx, task: TaskRow, raw: ModelCall[], { later = false } = {}): Promise<Recorded> {
  // A FailTask retried after a lost answer carries the same calls again: record each once.
  const seen = new Set(task.calls.map((c) => `${c.alias}@${c.at}`));
  const calls = raw.map(toStored).filter((c) => !seen.has(`${c.alias}@${c.at}`));
  const billed = calls.filter((c) => c.inputTokens > 0 || c.outputTokens > 0);
  const added = {
    inputTokens: billed.reduce((s, c) => s + c.inputTokens, 0),
    outputTokens: billed.reduce((s, c) => s + c.outputTokens, 0),
    costUsd: billed.reduce((s, c) => s + c.costUsd, 0),
  };
  if (calls.length === 0) return { ...added, taskSet: undefined, stored: [], ledger: [] };
  // Only a call that cost something can cross a budget's 80% line.
  const limit = added.costUsd > 0 ? projectBudgetOf(await projectSettings(trx, task.project_id)) : undefined;
  const before = limit !== undefined ? await spentSince(trx, { projectId: task.project_id }, monthStart()) : 0;
  const ledger = billed.map((c) => ({
    project_id: task.project_id,
    user_id: task.created_by,
    task_id: task.id,
    alias: c.alias,
    provider: c.provider,
    model: c.model,
    input_tokens: c.inputTokens,
    output_tokens: c.outputTokens,
    cost_usd: c.costUsd,
    outcome: c.outcome,
  }));
  if (!later) await insertLedger(trx, ledger);
  // CompleteTask folds this into the update that completes the task (one statement fewer).
  const taskSet = callsSet(calls, added.costUsd);
  if (!later) await trx.updateTable("tasks").set(taskSet).where("id", "=", task.id).execute();
  if (limit !== undefined) {
    const after = before + added.costUsd;
    if (before < WARN_AT * limit && after >= WARN_AT * limit) {
      const warning = {
        projectId: task.project_id,
        scope: "project",
        budget: limit,
        spent: Math.round(after * 1e6) / 1e6,
        percent: Math.round((after / Math.max(limit, 1e-12)) * 100),
        resetsAt: resetsAt(),
      };
      await appendEvent(trx, task.project_id, "budget.warning", payload.budgetWarning(warning), taskActor(task));
    }
  }
  return { ...added, taskSet: later ? taskSet : undefined, stored: calls, ledger: later ? ledger : [] };
}

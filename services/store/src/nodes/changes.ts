import type { Transaction } from "kysely";
import { isDeepStrictEqual } from "node:util";
import type { ChangeType, Database, NewNode, NodeRow } from "../db/schema.js";
import { appendEvent, type Actor } from "../events/append.js";
import { nodeToRest } from "./map.js";
import { insertNode, patchNode } from "./repo.js";
import type { NodePatch } from "./validate.js";

// Node writes that other resources reuse (AI tasks write nodes too). Each runs inside the
// caller's transaction and writes the row, its version and its event together.

type Trx = Transaction<Database>;

/** An actor, and the graph run the change belongs to (if any). */
export interface Author extends Actor {
  runId?: string | null;
}

export async function createNodeTx(trx: Trx, values: NewNode, changeType: ChangeType, by: Author): Promise<NodeRow> {
  const row = await insertNode(trx, values, { changeType, createdBy: by.userId, taskId: by.taskId });
  await appendEvent(trx, row.project_id, "node.created", nodeToRest(row), by);
  return row;
}

/** The part of `patch` that differs from `before`: a field set to what it already is is no change. */
export function effectivePatch(before: NodeRow, patch: NodePatch): NodePatch {
  const out: NodePatch = {};
  for (const [key, value] of Object.entries(patch) as [keyof NodePatch, unknown][]) {
    const json = key === "metadata" || key === "recipe";
    const same = json ? isDeepStrictEqual(before[key], value === null ? null : JSON.parse(value as string)) : isDeepStrictEqual(before[key], value);
    if (!same) (out as Record<string, unknown>)[key] = value;
  }
  return out;
}

/**
 * One change of a node: version + 1, a version row when the title or content moved (or when
 * `alwaysVersion`, as a rollback or an AI analysis is a visible step in the history), node.updated.
 */
export async function changeNodeTx(
  trx: Trx,
  before: NodeRow,
  patch: NodePatch & { run_hash?: string | null },
  changeType: ChangeType,
  by: Author,
  { alwaysVersion = false } = {},
): Promise<NodeRow> {
  // The patch sets exactly its fields, so whether the title or content moves is known before.
  const moves = (patch.title !== undefined && patch.title !== before.title) || (patch.content !== undefined && patch.content !== before.content);
  const version = alwaysVersion || moves ? { changeType, createdBy: by.userId, taskId: by.taskId, runId: by.runId } : undefined;
  const row = await patchNode(trx, before.id, patch, version);
  await appendEvent(trx, row.project_id, "node.updated", nodeToRest(row), by);
  return row;
}

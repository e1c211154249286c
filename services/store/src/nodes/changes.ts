import type { Transaction } from "kysely";
import { isDeepStrictEqual } from "node:util";
import type { ChangeType, Database, NewNode, NodeRow } from "../db/schema.js";
import { appendEvent, type Actor } from "../events/append.js";
import { payload } from "../events/payload.js";
import { hardDelete, insertNode, patchNode, restore, softDelete } from "./repo.js";
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
  await appendEvent(trx, row.project_id, "node.created", payload.node(row), by);
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
  await appendEvent(trx, row.project_id, "node.updated", payload.node(row), by);
  return row;
}

/** Hides a live node and its live connections (node.deleted, a connection.deleted each). Answers the nodes to forget. */
export async function hideNodeTx(trx: Trx, before: NodeRow, by: Actor): Promise<string[]> {
  const hidden = await softDelete(trx, before.id);
  await appendEvent(trx, before.project_id, "node.deleted", payload.deleted(before.id), by);
  for (const c of hidden) await appendEvent(trx, before.project_id, "connection.deleted", payload.deleted(c.id), by);
  return [before.id];
}

/**
 * Removes a node for good, hidden or not, with its connections; its children lose their parent
 * (a node.updated each). Events only for what clients still show: a hidden node is gone for them.
 */
export async function removeNodeTx(trx: Trx, before: NodeRow, by: Actor): Promise<string[]> {
  const { connections, orphans } = await hardDelete(trx, before.id);
  if (before.deleted_at === null) await appendEvent(trx, before.project_id, "node.deleted", payload.deleted(before.id), by);
  for (const c of connections.filter((c) => c.deleted_at === null)) await appendEvent(trx, before.project_id, "connection.deleted", payload.deleted(c.id), by);
  for (const o of orphans.filter((o) => o.deleted_at === null)) await appendEvent(trx, before.project_id, "node.updated", payload.node(o), by);
  return [before.id, ...orphans.map((o) => o.id)];
}

/** Brings a hidden node back with the connections hidden with it. */
export async function restoreNodeTx(trx: Trx, id: string, by: Actor): Promise<NodeRow> {
  const { node, connections } = await restore(trx, id);
  // To a client the node appears again: the same event as its creation, so it simply adds it back.
  await appendEvent(trx, node.project_id, "node.created", payload.node(node), by);
  for (const c of connections) await appendEvent(trx, node.project_id, "connection.created", payload.connection(c), by);
  return node;
}

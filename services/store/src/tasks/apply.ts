import type { TaskOutput } from "@sker/contracts/store/v1/task";
import type { Transaction } from "kysely";
import { createConnectionTx } from "../connections/changes.js";
import type { ChangeType, ConnectionType, Database, NodeRow, TaskRow } from "../db/schema.js";
import { changeNodeTx, createNodeTx, type Author } from "../nodes/changes.js";
import { findNode, liveNodesIn } from "../nodes/repo.js";
import type { NodePatch } from "../nodes/validate.js";
import { LIMITS } from "../nodes/validate.js";

// Writing a finished task's output onto the canvas, per task type, inside CompleteTask's
// transaction. Provider output is trimmed to what a node can hold rather than refused: a model
// that overshoots a limit should still produce a node, not a task stuck in retries.

type Trx = Transaction<Database>;

export interface Applied {
  resultNodeId: string;
  /** Nodes whose cached copy is now stale. */
  touched: string[];
}

/** The target node was deleted while the task ran: nothing to write onto. */
export class NodeGone extends Error {}

export interface CleanOutput {
  title: string;
  content: string;
  tags: string[];
  semanticType: string;
  importance: number | undefined;
  confidence: number;
}

export function cleanOutput(o: TaskOutput): CleanOutput {
  const tags = [...new Set(o.tags.map((t) => t.trim().slice(0, LIMITS.tagLength)).filter(Boolean))].slice(0, LIMITS.tags);
  return {
    title: o.title.trim().slice(0, LIMITS.title),
    content: o.content.slice(0, LIMITS.content),
    tags,
    semanticType: o.semanticType.trim().slice(0, LIMITS.semanticType),
    importance: o.importance >= 1 ? Math.min(5, Math.round(o.importance)) : undefined,
    confidence: Number.isFinite(o.confidence) ? Math.min(1, Math.max(0, o.confidence)) : 1,
  };
}

/** A new node needs a title; a model that gave none gets the first line of its content. */
function titleOf(out: CleanOutput, fallback: string): string {
  return ownTitle(out) ?? (fallback.trim() || "Untitled").slice(0, 80);
}

/** titleOf as far as the output alone says it: undefined when it falls back to the prompt. */
export function ownTitle(out: CleanOutput): string | undefined {
  if (out.title) return out.title;
  const line = out.content.split("\n").find((l) => l.trim() !== "")?.trim();
  return line ? line.slice(0, 80) : undefined;
}

/** To the right of the nodes it came from, at their average height. */
function besides(sources: NodeRow[]): { position_x: number; position_y: number } {
  if (sources.length === 0) return { position_x: 0, position_y: 0 };
  const right = Math.max(...sources.map((n) => n.position_x + n.width));
  const y = sources.reduce((s, n) => s + n.position_y, 0) / sources.length;
  return { position_x: right + 80, position_y: y };
}

async function target(trx: Trx, task: TaskRow): Promise<NodeRow> {
  const node = task.node_id ? await findNode(trx, task.node_id, { lock: true }) : undefined;
  if (!node || node.project_id !== task.project_id) throw new NodeGone();
  return node;
}

async function newLinkedNode(
  trx: Trx,
  task: TaskRow,
  out: CleanOutput,
  sources: NodeRow[],
  changeType: ChangeType,
  linkType: ConnectionType,
  by: Author,
  extra: { parent_id?: string; position_x?: number; position_y?: number } = {},
): Promise<NodeRow> {
  const node = await createNodeTx(
    trx,
    {
      project_id: task.project_id,
      title: titleOf(out, task.prompt),
      content: out.content,
      tags: out.tags,
      ai_generated: true,
      status: "completed",
      created_by: task.created_by,
      ...besides(sources),
      ...extra,
    },
    changeType,
    by,
  );
  for (const s of sources) {
    await createConnectionTx(trx, { projectId: task.project_id, sourceNodeId: s.id, targetNodeId: node.id, type: linkType, createdBy: task.created_by }, by);
  }
  return node;
}

export async function applyOutput(trx: Trx, task: TaskRow, out: CleanOutput): Promise<Applied> {
  const by: Author = { userId: task.created_by, taskId: task.id };
  const rewrite = (): NodePatch => ({
    status: "completed",
    ...(out.title ? { title: out.title } : {}),
    ...(out.content ? { content: out.content } : {}),
    ...(out.tags.length ? { tags: out.tags } : {}),
  });
  // Sources are share-locked so a link is never made to a node deleted under this commit.
  const sources = () => liveNodesIn(trx, task.project_id, task.source_node_ids, { share: true });

  switch (task.type) {
    case "generate": {
      if (task.node_id) {
        const node = await target(trx, task);
        await changeNodeTx(trx, node, rewrite(), "ai_generate", by, { alwaysVersion: true });
        return { resultNodeId: node.id, touched: [node.id] };
      }
      // A new node, linked from each source with an `input` connection: the source was input to it.
      const node = await newLinkedNode(trx, task, out, await sources(), "ai_generate", "input", by);
      return { resultNodeId: node.id, touched: [] };
    }
    case "optimize": {
      const node = await target(trx, task);
      await changeNodeTx(trx, node, rewrite(), "ai_optimize", by, { alwaysVersion: true });
      return { resultNodeId: node.id, touched: [node.id] };
    }
    case "analyze": {
      const node = await target(trx, task);
      const patch: NodePatch = { status: "completed", confidence: out.confidence };
      if (out.semanticType) patch.semantic_type = out.semanticType;
      if (out.importance !== undefined) patch.importance = out.importance;
      if (out.tags.length) patch.tags = out.tags;
      await changeNodeTx(trx, node, patch, "ai_analyze", by, { alwaysVersion: true });
      return { resultNodeId: node.id, touched: [node.id] };
    }
    case "expand": {
      const parent = await target(trx, task);
      const child = await newLinkedNode(trx, task, out, [parent], "ai_expand", "expand", by, {
        parent_id: parent.id,
        position_x: parent.position_x,
        position_y: parent.position_y + parent.height + 60,
      });
      return { resultNodeId: child.id, touched: [] };
    }
    case "fusion": {
      const node = await newLinkedNode(trx, task, out, await sources(), "ai_fusion", "fusion", by);
      return { resultNodeId: node.id, touched: [] };
    }
  }
}

import { toProtoEnum } from "@sker/kit";
import type { ChangeType, Node, NodeStatus, NodeVersion } from "@sker/contracts/store/v1/node";
import type { NodeRow, NodeVersionRow } from "../db/schema.js";
import { recipeToProto } from "./recipe.js";

export const NODE_STATUS = "NODE_STATUS_";
export const CHANGE_TYPE = "CHANGE_TYPE_";

export function nodeToProto(row: NodeRow): Node {
  return {
    id: row.id,
    projectId: row.project_id,
    title: row.title,
    content: row.content,
    semanticType: row.semantic_type,
    importance: row.importance,
    confidence: row.confidence,
    status: toProtoEnum<NodeStatus>(row.status, NODE_STATUS),
    tags: row.tags,
    position: { x: row.position_x, y: row.position_y },
    size: { width: row.width, height: row.height },
    metadata: row.metadata,
    parentId: row.parent_id ?? "",
    version: row.version,
    aiGenerated: row.ai_generated,
    createdBy: row.created_by ?? "",
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    deletedAt: row.deleted_at ?? undefined,
    recipe: recipeToProto(row.recipe),
  };
}

export function versionToProto(row: NodeVersionRow): NodeVersion {
  return {
    nodeId: row.node_id,
    version: row.version,
    title: row.title,
    content: row.content,
    changeType: toProtoEnum<ChangeType>(row.change_type, CHANGE_TYPE),
    createdBy: row.created_by ?? "",
    taskId: row.task_id ?? "",
    createdAt: row.created_at,
    runId: row.run_id ?? "",
  };
}

/** A row that went through JSON (the cache) gets its dates back. */
export function reviveNodeRow(raw: NodeRow): NodeRow {
  const date = (v: Date | string | null) => (v === null ? null : new Date(v));
  return { ...raw, created_at: date(raw.created_at)!, updated_at: date(raw.updated_at)!, deleted_at: date(raw.deleted_at) };
}

import { invalid, jsonProblem } from "@sker/kit";
import { JSON_DEPTH, LIMITS as CONTRACT_LIMITS } from "@sker/contracts/limits";
import type { Position, Size } from "@sker/contracts/common/v1/common";
import type { CreateNodeRequest, ListNodesRequest, UpdateNodeRequest } from "@sker/contracts/store/v1/node";
import type { NodeStatus } from "../db/schema.js";
import { parseEnum } from "../input/enum.js";
import { optionalId, parseId } from "../input/ids.js";
import { parsePage, type Page } from "../input/page.js";
import { NODE_STATUS } from "./map.js";
import { checkRecipe } from "./recipe.js";

const N = CONTRACT_LIMITS.node;
export const LIMITS = {
  title: N.title,
  content: N.content,
  semanticType: N.semanticType,
  tags: N.tags,
  tagLength: N.tagLength,
  metadataBytes: N.metadataBytes,
  q: N.query,
  batch: N.batch,
} as const;

export function text(field: string, value: string, max: number, { required = false } = {}): string {
  if (required && value.trim() === "") throw invalid(field, "is required");
  if (value.length > max) throw invalid(field, `must be at most ${max} characters (got ${value.length})`);
  return value;
}

export function importance(field: string, value: number): number {
  if (!Number.isInteger(value) || value < N.importanceMin || value > N.importanceMax)
    throw invalid(field, `must be an integer from ${N.importanceMin} to ${N.importanceMax}`);
  return value;
}

export function confidence(field: string, value: number): number {
  if (!Number.isFinite(value) || value < 0 || value > 1) throw invalid(field, "must be between 0 and 1");
  return value;
}

/** Trimmed, de-duplicated in order; an empty tag is a mistake, not something to store. */
export function tags(field: string, values: string[]): string[] {
  if (values.length > LIMITS.tags) throw invalid(field, `must have at most ${LIMITS.tags} tags`);
  const out: string[] = [];
  values.forEach((raw, i) => {
    const t = raw.trim();
    if (t === "") throw invalid(`${field}[${i}]`, "must not be empty");
    if (t.length > LIMITS.tagLength) throw invalid(`${field}[${i}]`, `must be at most ${LIMITS.tagLength} characters`);
    if (!out.includes(t)) out.push(t);
  });
  return out;
}

function position(field: string, p: Position): { position_x: number; position_y: number } {
  if (!Number.isFinite(p.x)) throw invalid(`${field}.x`, "must be a finite number");
  if (!Number.isFinite(p.y)) throw invalid(`${field}.y`, "must be a finite number");
  return { position_x: p.x, position_y: p.y };
}

function size(field: string, s: Size): { width: number; height: number } {
  if (!Number.isFinite(s.width) || s.width <= 0) throw invalid(`${field}.width`, "must be a positive number");
  if (!Number.isFinite(s.height) || s.height <= 0) throw invalid(`${field}.height`, "must be a positive number");
  return { width: s.width, height: s.height };
}

function metadata(field: string, m: Record<string, unknown>): string {
  const problem = jsonProblem(m, { depth: JSON_DEPTH, bytes: LIMITS.metadataBytes });
  if (problem) throw invalid(field, problem);
  return JSON.stringify(m);
}

export function nodeStatus(field: string, value: string): NodeStatus | undefined {
  return parseEnum<NodeStatus>(field, value, NODE_STATUS);
}

export interface NewNodeInput {
  projectId: string;
  parentId: string | null;
  values: {
    title: string;
    content: string;
    semantic_type: string;
    importance: number;
    confidence: number;
    status: NodeStatus;
    tags: string[];
    metadata: string;
    recipe?: string;
    position_x?: number;
    position_y?: number;
    width?: number;
    height?: number;
  };
}

/** A title from the content's first non-blank line, trimmed, at most 80 characters (code points). */
export function titleFromContent(content: string): string {
  const line = content.split(/\r?\n/).find((l) => l.trim() !== "") ?? "";
  return Array.from(line.trim()).slice(0, 80).join("").trim();
}

/** `title` is optional: a sticky note with only content is titled by its first line. */
function createTitle(req: CreateNodeRequest, content: string): string {
  const given = text("title", req.title, LIMITS.title);
  if (given.trim() !== "") return given;
  // An AI node may start empty: its recipe's prompt (or type) names it until someone does.
  const derived = titleFromContent(content) || (req.recipe ? titleFromContent(req.recipe.prompt) || `AI ${req.recipe.type}` : "");
  if (derived === "") throw invalid("title", "a node needs a title or some content");
  return derived;
}

export function checkCreate(req: CreateNodeRequest): NewNodeInput {
  const content = text("content", req.content, LIMITS.content);
  return {
    projectId: parseId("projectId", req.projectId),
    parentId: optionalId("parentId", req.parentId),
    values: {
      title: createTitle(req, content),
      content,
      semantic_type: text("semanticType", req.semanticType, LIMITS.semanticType),
      importance: req.importance === 0 ? 3 : importance("importance", req.importance),
      confidence: req.confidence === undefined ? 1 : confidence("confidence", req.confidence),
      status: nodeStatus("status", req.status) ?? "idle",
      tags: tags("tags", req.tags),
      metadata: metadata("metadata", req.metadata ?? {}),
      ...(req.recipe ? { recipe: JSON.stringify(checkRecipe("recipe", req.recipe)) } : {}),
      ...(req.position ? position("position", req.position) : {}),
      ...(req.size ? size("size", req.size) : {}),
    },
  };
}

/** Only the fields the request sets; `parentId: null` clears the parent. */
export interface NodePatch {
  title?: string;
  content?: string;
  semantic_type?: string;
  importance?: number;
  confidence?: number;
  status?: NodeStatus;
  tags?: string[];
  metadata?: string;
  position_x?: number;
  position_y?: number;
  width?: number;
  height?: number;
  parent_id?: string | null;
  /** JSON; null removes the recipe. */
  recipe?: string | null;
}

export function checkUpdate(req: UpdateNodeRequest): { id: string; expectedVersion: number | undefined; patch: NodePatch } {
  const id = parseId("id", req.id);
  if (req.expectedVersion !== undefined && (!Number.isInteger(req.expectedVersion) || req.expectedVersion < 1)) {
    throw invalid("expectedVersion", "must be a positive integer");
  }
  const patch: NodePatch = {};
  if (req.title !== undefined) patch.title = text("title", req.title, LIMITS.title, { required: true });
  if (req.content !== undefined) patch.content = text("content", req.content, LIMITS.content);
  if (req.semanticType !== undefined) patch.semantic_type = text("semanticType", req.semanticType, LIMITS.semanticType);
  if (req.importance !== undefined) patch.importance = importance("importance", req.importance);
  if (req.confidence !== undefined) patch.confidence = confidence("confidence", req.confidence);
  const status = nodeStatus("status", req.status);
  if (status) patch.status = status;
  if (req.tags) patch.tags = tags("tags", req.tags.values);
  if (req.metadata) patch.metadata = metadata("metadata", req.metadata);
  if (req.clearRecipe) patch.recipe = null;
  else if (req.recipe) patch.recipe = JSON.stringify(checkRecipe("recipe", req.recipe));
  if (req.position) Object.assign(patch, position("position", req.position));
  if (req.size) Object.assign(patch, size("size", req.size));
  if (req.parentId !== undefined) {
    patch.parent_id = req.parentId === "" ? null : parseId("parentId", req.parentId);
    if (patch.parent_id === id) throw invalid("parentId", "a node cannot be its own parent");
  }
  return { id, expectedVersion: req.expectedVersion, patch };
}

export interface NodeFilter {
  projectId: string;
  status?: NodeStatus;
  tag?: string;
  q?: string;
  page: Page;
}

export function checkList(req: ListNodesRequest): NodeFilter {
  const tag = req.tag.trim();
  const q = req.q.trim();
  if (tag.length > LIMITS.tagLength) throw invalid("tag", `must be at most ${LIMITS.tagLength} characters`);
  if (q.length > LIMITS.q) throw invalid("q", `must be at most ${LIMITS.q} characters`);
  return {
    projectId: parseId("projectId", req.projectId),
    status: nodeStatus("status", req.status),
    tag: tag || undefined,
    q: q || undefined,
    page: parsePage(req.page),
  };
}

export function checkIds(ids: string[]): string[] {
  if (ids.length > LIMITS.batch) throw invalid("ids", `must have at most ${LIMITS.batch} ids`);
  const out = ids.map((id, i) => parseId(`ids[${i}]`, id));
  return [...new Set(out)];
}

export function checkVersion(field: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw invalid(field, "must be a positive integer");
  return v;
}

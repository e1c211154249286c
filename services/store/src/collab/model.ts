import { findBadText, invalid, jsonProblem, textProblem } from "@sker/kit";
import { JSON_DEPTH } from "@sker/contracts/limits";
import type { ChangeType, ConnectionType, NodeStatus } from "../db/schema.js";
import { confidence, importance, LIMITS, tags as checkTags, text } from "../nodes/validate.js";

/**
 * A canvas as export and import see it, whatever the file format: ids are the file's own
 * (import gives every node and connection a new one).
 */
export interface CanvasDoc {
  project: { name: string; description: string; canvasData: Record<string, unknown>; settings: Record<string, unknown> };
  nodes: CanvasNode[];
  connections: CanvasConnection[];
}

export interface CanvasNode {
  id: string;
  title: string;
  content: string;
  semanticType: string;
  importance: number;
  confidence: number;
  status: NodeStatus;
  tags: string[];
  position: { x: number; y: number };
  size: { width: number; height: number };
  metadata: Record<string, unknown>;
  parentId: string | null;
  aiGenerated: boolean;
  /** sker only, when exported with versions: the node's history, oldest first. */
  version?: number;
  versions?: { version: number; title: string; content: string; changeType: ChangeType; createdAt: string }[];
}

export interface CanvasConnection {
  id: string;
  sourceNodeId: string;
  targetNodeId: string;
  type: ConnectionType;
  label: string;
  weight: number;
}

/** What one file may hold; the project quotas (nodes, bytes) apply on top, in the import's transaction. */
export const IMPORT_LIMITS = { nodes: 100_000, connections: 200_000, versionsPerNode: 1000, idLength: 200 };

export const NODE_STATUSES: NodeStatus[] = ["idle", "processing", "completed", "error"];
export const CONNECTION_TYPES: ConnectionType[] = ["related", "dependency", "reference", "expand", "fusion", "input", "output", "bidirectional"];
export const CHANGE_TYPES: ChangeType[] = ["create", "edit", "ai_generate", "ai_optimize", "ai_expand", "ai_fusion", "ai_analyze", "rollback"];

// Field checks that name the place in the file ("nodes[3].x"): a bad file is a 400 that says where.

export function obj(field: string, v: unknown): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw invalid(field, "must be an object");
  return v as Record<string, unknown>;
}

export function arr(field: string, v: unknown, max: number): unknown[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw invalid(field, "must be an array");
  if (v.length > max) throw invalid(field, `must have at most ${max} items`);
  return v;
}

/** PostgreSQL refuses NUL in text and jsonb: a 400 here, never a 500 at insert. */
export function str(field: string, v: unknown, max: number, fallback?: string): string {
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== "string") throw invalid(field, "must be a string");
  const problem = textProblem(v);
  if (problem) throw invalid(field, problem);
  return text(field, v, max);
}

export function num(field: string, v: unknown, fallback?: number): number {
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== "number" || !Number.isFinite(v)) throw invalid(field, "must be a finite number");
  return v;
}

export function oneOf<T extends string>(field: string, v: unknown, allowed: readonly T[], fallback: T): T {
  if (v === undefined) return fallback;
  if (!allowed.includes(v as T)) throw invalid(field, `must be one of ${allowed.join(", ")}`);
  return v as T;
}

export function id(field: string, v: unknown): string {
  if (typeof v !== "string" || v === "" || v.length > IMPORT_LIMITS.idLength) throw invalid(field, `must be a string of 1 to ${IMPORT_LIMITS.idLength} characters`);
  return v;
}

export function json(field: string, v: unknown, maxBytes: number): Record<string, unknown> {
  if (v === undefined) return {};
  const o = obj(field, v);
  const problem = jsonProblem(o, { depth: JSON_DEPTH, bytes: maxBytes });
  if (problem) throw invalid(field, problem);
  const bad = findBadText(o, field);
  if (bad) throw invalid(bad.field, bad.message);
  return o;
}

export const nodeText = {
  title: (f: string, v: unknown) => str(f, v, LIMITS.title),
  content: (f: string, v: unknown) => str(f, v, LIMITS.content, ""),
  importance: (f: string, v: unknown) => importance(f, num(f, v, 3)),
  confidence: (f: string, v: unknown) => confidence(f, num(f, v, 1)),
  tags: (f: string, v: unknown) => checkTags(f, arr(f, v, LIMITS.tags).map((t, i) => str(`${f}[${i}]`, t, LIMITS.tagLength))),
  metadata: (f: string, v: unknown) => json(f, v, LIMITS.metadataBytes),
};

/** Ids unique within the file, and every reference pointing at one of them. */
export function checkReferences(doc: CanvasDoc, nodesField: string, edgesField: string, ends: [string, string]): void {
  const ids = new Set<string>();
  doc.nodes.forEach((n, i) => {
    if (ids.has(n.id)) throw invalid(`${nodesField}[${i}].id`, `repeats the id ${JSON.stringify(n.id)}`);
    ids.add(n.id);
  });
  doc.nodes.forEach((n, i) => {
    if (n.parentId !== null && !ids.has(n.parentId)) throw invalid(`${nodesField}[${i}].parentId`, "is not a node of this file");
  });
  const parent = new Map(doc.nodes.map((n) => [n.id, n.parentId]));
  doc.nodes.forEach((n, i) => {
    const path = new Set<string>();
    for (let at: string | null = n.id; at !== null; at = parent.get(at) ?? null) {
      if (path.has(at)) throw invalid(`${nodesField}[${i}].parentId`, "makes the node its own ancestor");
      path.add(at);
    }
  });
  const seen = new Set<string>();
  doc.connections.forEach((c, i) => {
    if (!ids.has(c.sourceNodeId)) throw invalid(`${edgesField}[${i}].${ends[0]}`, "is not a node of this file");
    if (!ids.has(c.targetNodeId)) throw invalid(`${edgesField}[${i}].${ends[1]}`, "is not a node of this file");
    if (c.sourceNodeId === c.targetNodeId) throw invalid(`${edgesField}[${i}]`, "links a node to itself");
    const key = `${c.sourceNodeId}\u0000${c.targetNodeId}\u0000${c.type}`;
    if (seen.has(key)) throw invalid(`${edgesField}[${i}]`, "repeats a connection of the same type between the same nodes");
    seen.add(key);
  });
}

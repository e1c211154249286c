import type { Static } from "typebox";
import { invalid } from "@sker/kit";
import type { CreateNodeRequest, DeleteNodeRequest, ListNodesRequest, NodeStatus, Recipe, UpdateNodeRequest } from "@sker/contracts/store/v1/node";
import type * as schema from "../schemas/nodes.js";
import { enumIn, page } from "./common.js";

// REST → proto for the node routes (proto → REST is rest/map.ts).

const status = (s: string | undefined) => enumIn<NodeStatus>(s, "NODE_STATUS_");

export const listNodes = (q: Static<typeof schema.listNodesQuery>): ListNodesRequest => ({
  projectId: q.projectId,
  status: status(q.status),
  tag: q.tag ?? "",
  q: q.q ?? "",
  page: page(q),
});

export const createNode = (b: Static<typeof schema.createNode>): CreateNodeRequest => ({
  projectId: b.projectId,
  title: b.title ?? "",
  content: b.content ?? "",
  semanticType: b.semanticType ?? "",
  importance: b.importance ?? 0,
  confidence: b.confidence,
  status: status(b.status),
  tags: b.tags ?? [],
  position: b.position,
  size: b.size,
  metadata: b.metadata,
  parentId: b.parentId ?? "",
  recipe: b.recipe ? recipe(b.recipe) : undefined,
});

export const updateNode = (id: string, ifMatch: string | undefined, b: Static<typeof schema.updateNode>): UpdateNodeRequest => ({
  id,
  expectedVersion: parseIfMatch(ifMatch),
  title: b.title,
  content: b.content,
  semanticType: b.semanticType,
  importance: b.importance,
  confidence: b.confidence,
  status: status(b.status),
  tags: b.tags ? { values: b.tags } : undefined,
  position: b.position,
  size: b.size,
  metadata: b.metadata,
  // null clears the parent; absent leaves it.
  parentId: b.parentId === null ? "" : b.parentId,
  // null removes the recipe; absent leaves it.
  recipe: b.recipe ? recipe(b.recipe) : undefined,
  clearRecipe: b.recipe === null,
});

/** Hidden by default (restorable); ?permanent=true removes the node and its connections. */
export const deleteNode = (id: string, q: Static<typeof schema.deleteQuery>): DeleteNodeRequest => ({ id, permanent: q.permanent === true });

/** REST recipe → proto (options flattened). */
export function recipe(r: Static<typeof schema.recipeIn>): Recipe {
  return { type: r.type, prompt: r.prompt ?? "", model: r.options?.model ?? "", temperature: r.options?.temperature, maxTokens: r.options?.maxTokens };
}

/** `If-Match: "3"` (or W/"3", or 3) → 3; `*` or absent → no precondition. */
export function parseIfMatch(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const raw = Array.isArray(header) ? header[0] : header;
  if (raw.trim() === "*") return undefined;
  const m = /^\s*(?:W\/)?"?(\d{1,10})"?\s*$/.exec(raw);
  const n = m ? Number(m[1]) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 2_147_483_647) throw invalid("If-Match", 'must be a node version as an ETag, e.g. "3"');
  return n;
}

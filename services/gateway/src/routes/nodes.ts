import type { FastifyPluginAsync, FastifyReply } from "fastify";
import { invalid, toProtoEnum } from "@sker/kit";
import { LIMITS } from "@sker/contracts/limits";
import { NodeStatus, type Node as PNode } from "@sker/contracts/store/v1/node";
import * as map from "../rest/map.js";
import { bodies, ENUMS, idParams, listOf, Node, NodeVersion, noContent, ok, pageQuery, uuid } from "../rest/schemas.js";
import { as, errorResponses, okBody, secured } from "./common.js";

type Obj = Record<string, unknown>;
interface NodeFields {
  title?: string;
  content?: string;
  semanticType?: string;
  importance?: number;
  confidence?: number;
  status?: string;
  tags?: string[];
  position?: { x: number; y: number };
  size?: { width: number; height: number };
  metadata?: Obj;
  parentId?: string | null;
  recipe?: map.RecipeBody | null;
}

const status = (s: string | undefined) => (s ? toProtoEnum<NodeStatus>(s, "NODE_STATUS_") : NodeStatus.NODE_STATUS_UNSPECIFIED);

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

/** Answers the node with its version as the ETag. */
const withEtag = (reply: FastifyReply, n: PNode | undefined) => {
  if (n) reply.header("etag", `"${n.version}"`);
  return okBody(map.node(n));
};

export const nodeRoutes: FastifyPluginAsync = async (app) => {
  const nodes = app.deps.clients.nodes;
  const tags = ["nodes"];
  const nodeOk = { 200: ok(Node), ...errorResponses };

  app.get<{ Querystring: { projectId: string; status?: string; tag?: string; q?: string; limit: number; cursor?: string } }>(
    "/nodes",
    {
      schema: {
        tags,
        security: secured,
        querystring: {
          type: "object",
          required: ["projectId"],
          properties: { projectId: uuid, status: { type: "string", enum: [...ENUMS.nodeStatus] }, tag: { type: "string", maxLength: LIMITS.node.tagLength }, q: { type: "string", maxLength: LIMITS.node.query }, ...pageQuery },
        },
        response: { 200: listOf(Node), ...errorResponses },
      },
    },
    async (req) => {
      const { projectId, tag, q, limit, cursor } = req.query;
      const res = await nodes.listNodes({ projectId, status: status(req.query.status), tag: tag ?? "", q: q ?? "", page: { limit, cursor: cursor ?? "" } }, as(req));
      return okBody(map.page(res.nodes.map(map.node), res.nextCursor));
    },
  );

  app.post<{ Body: NodeFields & { projectId: string } }>(
    "/nodes",
    { schema: { tags, security: secured, body: bodies.createNode, response: { 201: ok(Node), ...errorResponses } } },
    async (req, reply) => {
      const b = req.body;
      const res = await nodes.createNode(
        {
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
          recipe: b.recipe ? map.recipeIn(b.recipe) : undefined,
        },
        as(req),
      );
      reply.code(201);
      return withEtag(reply, res.node);
    },
  );

  app.get<{ Params: { id: string } }>(
    "/nodes/:id",
    { schema: { tags, summary: "A node; ETag is its version", security: secured, params: idParams, response: nodeOk } },
    async (req, reply) => withEtag(reply, (await nodes.getNode({ id: req.params.id }, as(req))).node),
  );

  app.patch<{ Params: { id: string }; Body: NodeFields }>(
    "/nodes/:id",
    {
      schema: {
        tags,
        summary: 'Update a node; with If-Match: "<version>" a stale version answers 409 VERSION_CONFLICT',
        security: secured,
        params: idParams,
        headers: { type: "object", properties: { "if-match": { type: "string", maxLength: 64 } } },
        body: bodies.updateNode,
        response: nodeOk,
      },
    },
    async (req, reply) => {
      const b = req.body;
      const res = await nodes.updateNode(
        {
          id: req.params.id,
          expectedVersion: parseIfMatch(req.headers["if-match"]),
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
          recipe: b.recipe ? map.recipeIn(b.recipe) : undefined,
          clearRecipe: b.recipe === null,
        },
        as(req),
      );
      return withEtag(reply, res.node);
    },
  );

  app.delete<{ Params: { id: string }; Querystring: { permanent?: boolean } }>(
    "/nodes/:id",
    {
      schema: {
        tags,
        summary: "Hide a node and its connections; ?permanent=true removes them",
        security: secured,
        params: idParams,
        querystring: { type: "object", properties: { permanent: { type: "boolean", default: false } } },
        response: { 204: noContent, ...errorResponses },
      },
    },
    async (req, reply) => {
      await nodes.deleteNode({ id: req.params.id, permanent: req.query.permanent === true }, as(req));
      return reply.code(204).send();
    },
  );

  app.post<{ Params: { id: string } }>(
    "/nodes/:id/restore",
    { schema: { tags, summary: "Bring back a hidden node", security: secured, params: idParams, response: nodeOk } },
    async (req, reply) => withEtag(reply, (await nodes.restoreNode({ id: req.params.id }, as(req))).node),
  );

  app.get<{ Params: { id: string }; Querystring: { limit: number; cursor?: string } }>(
    "/nodes/:id/versions",
    {
      schema: {
        tags,
        security: secured,
        params: idParams,
        querystring: { type: "object", properties: { ...pageQuery } },
        response: { 200: listOf(NodeVersion), ...errorResponses },
      },
    },
    async (req) => {
      const res = await nodes.listNodeVersions({ nodeId: req.params.id, page: { limit: req.query.limit, cursor: req.query.cursor ?? "" } }, as(req));
      return okBody(map.page(res.versions.map(map.nodeVersion), res.nextCursor));
    },
  );

  app.post<{ Params: { id: string }; Body: { version: number } }>(
    "/nodes/:id/rollback",
    { schema: { tags, summary: "Write a new version with the content of an older one", security: secured, params: idParams, body: bodies.rollback, response: nodeOk } },
    async (req, reply) => withEtag(reply, (await nodes.rollbackNode({ id: req.params.id, version: req.body.version }, as(req))).node),
  );
};

import type { FastifyReply } from "fastify";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { Node as PNode } from "@sker/contracts/store/v1/node";
import * as map from "../rest/map.js";
import * as rpc from "../rest/requests/nodes.js";
import { idParams, listOf, listQuery, noContent, ok } from "../rest/schemas/common.js";
import { createNode, deleteQuery, ifMatchHeaders, listNodesQuery, Node, NodeVersion, rollback, updateNode } from "../rest/schemas/nodes.js";
import { page } from "../rest/requests/common.js";
import { as, errorResponses, okBody, secured } from "./common.js";

/** Answers the node with its version as the ETag. */
const withEtag = (reply: FastifyReply, n: PNode | undefined) => {
  if (n) reply.header("etag", `"${n.version}"`);
  return okBody(map.node(n));
};

export const nodeRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const nodes = app.deps.clients.nodes;
  const tags = ["nodes"];
  const nodeOk = { 200: ok(Node), ...errorResponses };

  app.get("/nodes", { schema: { tags, security: secured, querystring: listNodesQuery, response: { 200: listOf(Node), ...errorResponses } } }, async (req) => {
    const res = await nodes.listNodes(rpc.listNodes(req.query), as(req));
    return okBody(map.page(res.nodes.map(map.node), res.nextCursor));
  });

  app.post("/nodes", { schema: { tags, security: secured, body: createNode, response: { 201: ok(Node), ...errorResponses } } }, async (req, reply) => {
    const res = await nodes.createNode(rpc.createNode(req.body), as(req));
    reply.code(201);
    return withEtag(reply, res.node);
  });

  app.get(
    "/nodes/:id",
    { schema: { tags, summary: "A node; ETag is its version", security: secured, params: idParams, response: nodeOk } },
    async (req, reply) => withEtag(reply, await app.readCache.node(req, req.params.id, async () => (await nodes.getNode({ id: req.params.id }, as(req))).node)),
  );

  app.patch(
    "/nodes/:id",
    {
      schema: {
        tags,
        summary: 'Update a node; with If-Match: "<version>" a stale version answers 409 VERSION_CONFLICT',
        security: secured,
        params: idParams,
        headers: ifMatchHeaders,
        body: updateNode,
        response: nodeOk,
      },
    },
    async (req, reply) => {
      const res = await nodes.updateNode(rpc.updateNode(req.params.id, req.headers["if-match"], req.body), as(req));
      return withEtag(reply, res.node);
    },
  );

  app.delete(
    "/nodes/:id",
    {
      schema: {
        tags,
        summary: "Hide a node and its connections; ?permanent=true removes them",
        security: secured,
        params: idParams,
        querystring: deleteQuery,
        response: { 204: noContent, ...errorResponses },
      },
    },
    async (req, reply) => {
      await nodes.deleteNode(rpc.deleteNode(req.params.id, req.query), as(req));
      return reply.code(204).send();
    },
  );

  app.post(
    "/nodes/:id/restore",
    { schema: { tags, summary: "Bring back a hidden node", security: secured, params: idParams, response: nodeOk } },
    async (req, reply) => withEtag(reply, (await nodes.restoreNode({ id: req.params.id }, as(req))).node),
  );

  app.get(
    "/nodes/:id/versions",
    { schema: { tags, security: secured, params: idParams, querystring: listQuery, response: { 200: listOf(NodeVersion), ...errorResponses } } },
    async (req) => {
      const res = await nodes.listNodeVersions({ nodeId: req.params.id, page: page(req.query) }, as(req));
      return okBody(map.page(res.versions.map(map.nodeVersion), res.nextCursor));
    },
  );

  app.post(
    "/nodes/:id/rollback",
    { schema: { tags, summary: "Write a new version with the content of an older one", security: secured, params: idParams, body: rollback, response: nodeOk } },
    async (req, reply) => withEtag(reply, (await nodes.rollbackNode({ id: req.params.id, version: req.body.version }, as(req))).node),
  );
};

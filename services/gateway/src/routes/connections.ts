import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import * as map from "../rest/map.js";
import * as rpc from "../rest/requests/connections.js";
import { idParams, listOf, noContent, ok } from "../rest/schemas/common.js";
import { Connection, createConnection, listConnectionsQuery, updateConnection } from "../rest/schemas/connections.js";
import { as, errorResponses, okBody, secured } from "./common.js";

export const connectionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const connections = app.deps.clients.connections;
  const tags = ["connections"];
  const connOk = { 200: ok(Connection), ...errorResponses };

  app.get("/connections", { schema: { tags, security: secured, querystring: listConnectionsQuery, response: { 200: listOf(Connection), ...errorResponses } } }, async (req) => {
    const res = await connections.listConnections(rpc.listConnections(req.query), as(req));
    return okBody(map.page(res.connections.map(map.connection), res.nextCursor));
  });

  app.post("/connections", { schema: { tags, security: secured, body: createConnection, response: { 201: ok(Connection), ...errorResponses } } }, async (req, reply) => {
    const res = await connections.createConnection(rpc.createConnection(req.body), as(req));
    return reply.code(201).send(okBody(map.connection(res.connection)));
  });

  app.get(
    "/connections/:id",
    { schema: { tags, security: secured, params: idParams, response: connOk } },
    async (req) => okBody(map.connection((await connections.getConnection({ id: req.params.id }, as(req))).connection)),
  );

  app.patch(
    "/connections/:id",
    { schema: { tags, security: secured, params: idParams, body: updateConnection, response: connOk } },
    async (req) => okBody(map.connection((await connections.updateConnection(rpc.updateConnection(req.params.id, req.body), as(req))).connection)),
  );

  app.delete("/connections/:id", { schema: { tags, security: secured, params: idParams, response: { 204: noContent, ...errorResponses } } }, async (req, reply) => {
    await connections.deleteConnection({ id: req.params.id }, as(req));
    return reply.code(204).send();
  });
};

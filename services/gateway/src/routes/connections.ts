import type { FastifyPluginAsync } from "fastify";
import { toProtoEnum } from "@sker/kit";
import { ConnectionType } from "@sker/contracts/store/v1/connection";
import * as map from "../rest/map.js";
import { bodies, Connection, idParams, listOf, noContent, ok, pageQuery, uuid } from "../rest/schemas.js";
import { as, errorResponses, okBody, secured } from "./common.js";

const type = (t: string | undefined) => (t ? toProtoEnum<ConnectionType>(t, "CONNECTION_TYPE_") : ConnectionType.CONNECTION_TYPE_UNSPECIFIED);

export const connectionRoutes: FastifyPluginAsync = async (app) => {
  const connections = app.deps.clients.connections;
  const tags = ["connections"];
  const connOk = { 200: ok(Connection), ...errorResponses };

  app.get<{ Querystring: { projectId: string; nodeId?: string; limit: number; cursor?: string } }>(
    "/connections",
    {
      schema: {
        tags,
        security: secured,
        querystring: { type: "object", required: ["projectId"], properties: { projectId: uuid, nodeId: uuid, ...pageQuery } },
        response: { 200: listOf(Connection), ...errorResponses },
      },
    },
    async (req) => {
      const { projectId, nodeId, limit, cursor } = req.query;
      const res = await connections.listConnections({ projectId, nodeId: nodeId ?? "", page: { limit, cursor: cursor ?? "" } }, as(req));
      return okBody(map.page(res.connections.map(map.connection), res.nextCursor));
    },
  );

  app.post<{ Body: { projectId: string; sourceNodeId: string; targetNodeId: string; type: string; label?: string; weight?: number } }>(
    "/connections",
    { schema: { tags, security: secured, body: bodies.createConnection, response: { 201: ok(Connection), ...errorResponses } } },
    async (req, reply) => {
      const b = req.body;
      const res = await connections.createConnection(
        { projectId: b.projectId, sourceNodeId: b.sourceNodeId, targetNodeId: b.targetNodeId, type: type(b.type), label: b.label ?? "", weight: b.weight },
        as(req),
      );
      return reply.code(201).send(okBody(map.connection(res.connection)));
    },
  );

  app.get<{ Params: { id: string } }>(
    "/connections/:id",
    { schema: { tags, security: secured, params: idParams, response: connOk } },
    async (req) => okBody(map.connection((await connections.getConnection({ id: req.params.id }, as(req))).connection)),
  );

  app.patch<{ Params: { id: string }; Body: { type?: string; label?: string; weight?: number } }>(
    "/connections/:id",
    { schema: { tags, security: secured, params: idParams, body: bodies.updateConnection, response: connOk } },
    async (req) => {
      const b = req.body;
      const res = await connections.updateConnection({ id: req.params.id, type: type(b.type), label: b.label, weight: b.weight }, as(req));
      return okBody(map.connection(res.connection));
    },
  );

  app.delete<{ Params: { id: string } }>(
    "/connections/:id",
    { schema: { tags, security: secured, params: idParams, response: { 204: noContent, ...errorResponses } } },
    async (req, reply) => {
      await connections.deleteConnection({ id: req.params.id }, as(req));
      return reply.code(204).send();
    },
  );
};

import type { FastifyPluginAsync } from "fastify";
import * as map from "../rest/map.js";
import { ApiKey, bodies, idParams, noContent, ok } from "../rest/schemas.js";
import { as, errorResponses, okBody, secured } from "./common.js";

export const apiKeyRoutes: FastifyPluginAsync = async (app) => {
  const users = app.deps.clients.users;
  const tags = ["api-keys"];

  app.post<{ Body: { name: string } }>(
    "/api-keys",
    { schema: { tags, summary: "Create an API key (the key is shown once)", security: secured, body: bodies.createApiKey, response: { 201: ok(ApiKey), ...errorResponses } } },
    async (req, reply) => {
      const res = await users.createApiKey({ name: req.body.name }, as(req));
      return reply.code(201).send(okBody(map.apiKey(res.apiKey)));
    },
  );

  app.get(
    "/api-keys",
    {
      schema: {
        tags,
        security: secured,
        response: { 200: ok({ type: "object", properties: { items: { type: "array", items: ApiKey }, nextCursor: { type: ["string", "null"] } } }), ...errorResponses },
      },
    },
    async (req) => {
      const res = await users.listApiKeys({}, as(req));
      return okBody(map.page(res.apiKeys.map(map.apiKey), ""));
    },
  );

  app.delete<{ Params: { id: string } }>(
    "/api-keys/:id",
    { schema: { tags, security: secured, params: idParams, response: { 204: noContent, ...errorResponses } } },
    async (req, reply) => {
      await users.deleteApiKey({ id: req.params.id }, as(req));
      // A deleted key must not live on in this replica's cache.
      app.apiKeys.forgetUser(req.user!.userId);
      return reply.code(204).send();
    },
  );
};

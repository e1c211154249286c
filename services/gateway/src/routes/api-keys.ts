import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import * as map from "../rest/map.js";
import { idParams, listOf, noContent, ok } from "../rest/schemas/common.js";
import { ApiKey, createApiKey } from "../rest/schemas/users.js";
import { as, errorResponses, okBody, secured } from "./common.js";

export const apiKeyRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const users = app.deps.clients.users;
  const tags = ["api-keys"];

  app.post(
    "/api-keys",
    { schema: { tags, summary: "Create an API key (the key is shown once)", security: secured, body: createApiKey, response: { 201: ok(ApiKey), ...errorResponses } } },
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
        response: { 200: listOf(ApiKey), ...errorResponses },
      },
    },
    async (req) => {
      const res = await users.listApiKeys({}, as(req));
      return okBody(map.page(res.apiKeys.map(map.apiKey), ""));
    },
  );

  app.delete(
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

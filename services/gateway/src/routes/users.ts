import type { FastifyPluginAsync } from "fastify";
import * as map from "../rest/map.js";
import { bodies, noContent, ok, User } from "../rest/schemas.js";
import { as, errorResponses, okBody, secured } from "./common.js";

export const userRoutes: FastifyPluginAsync = async (app) => {
  const users = app.deps.clients.users;
  const tags = ["users"];

  app.get("/users/me", { schema: { tags, security: secured, response: { 200: ok(User), ...errorResponses } } }, async (req) => {
    const res = await users.getMe({}, as(req));
    return okBody(map.user(res.user));
  });

  app.patch<{ Body: { displayName?: string; avatarUrl?: string; settings?: Record<string, unknown> } }>(
    "/users/me",
    { schema: { tags, security: secured, body: bodies.updateMe, response: { 200: ok(User), ...errorResponses } } },
    async (req) => {
      const { displayName, avatarUrl, settings } = req.body;
      const res = await users.updateMe({ displayName, avatarUrl, settings }, as(req));
      return okBody(map.user(res.user));
    },
  );

  app.delete(
    "/users/me",
    { schema: { tags, summary: "Delete the account; its tokens stop working at once", security: secured, response: { 204: noContent, ...errorResponses } } },
    async (req, reply) => {
      await users.deleteMe({}, as(req));
      app.apiKeys.forgetUser(req.user!.userId);
      return reply.code(204).send();
    },
  );
};

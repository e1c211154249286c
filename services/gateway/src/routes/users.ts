import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import * as map from "../rest/map.js";
import { noContent, ok } from "../rest/schemas/common.js";
import { AuthSession, changePassword, updateMe, User } from "../rest/schemas/users.js";
import { session } from "./session.js";
import { as, errorResponses, okBody, secured } from "./common.js";

export const userRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const users = app.deps.clients.users;
  const tags = ["users"];

  app.get("/users/me", { schema: { tags, security: secured, response: { 200: ok(User), ...errorResponses } } }, async (req) => {
    const res = await users.getMe({}, as(req));
    return okBody(map.user(res.user));
  });

  app.patch(
    "/users/me",
    { schema: { tags, security: secured, body: updateMe, response: { 200: ok(User), ...errorResponses } } },
    async (req) => {
      const { displayName, avatarUrl, settings } = req.body;
      const res = await users.updateMe({ displayName, avatarUrl, settings }, as(req));
      return okBody(map.user(res.user));
    },
  );

  app.post(
    "/users/me/password",
    {
      schema: {
        tags,
        summary: "Change the password: every session of the account ends (on every hop); the answer is a fresh one",
        security: secured,
        body: changePassword,
        response: { 200: ok(AuthSession), ...errorResponses },
      },
    },
    async (req) => {
      const res = await users.changePassword({ currentPassword: req.body.currentPassword, newPassword: req.body.newPassword }, as(req));
      app.apiKeys.forgetUser(req.user!.userId);
      return okBody(session(res.session));
    },
  );

  app.post(
    "/users/me/verify-email",
    { schema: { tags, summary: "Mail a link that proves the mailbox (202)", security: secured, response: { 202: noContent, ...errorResponses } } },
    async (req, reply) => {
      await users.requestEmailVerification({}, as(req));
      return reply.code(202).send();
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

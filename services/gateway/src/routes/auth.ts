import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { FastifyRequest } from "fastify";
import { bearer } from "@sker/kit";
import * as map from "../rest/map.js";
import * as rpc from "../rest/requests/users.js";
import { noContent, ok } from "../rest/schemas/common.js";
import { AuthSession, login, refreshToken, register, resetConfirm, resetRequest, User, verifyEmail } from "../rest/schemas/users.js";
import { as, errorResponses, okBody } from "./common.js";
import { session } from "./session.js";

// Public routes: register, login, refresh, logout, password reset, email verification. They
// call the store with the gateway's service token; the store hashes passwords and tokens and
// rotates refresh families.

export const authRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook("onRequest", app.limits.authIp);
  const tags = ["auth"];
  const svc = async (req: FastifyRequest) => as(req, { token: await app.serviceToken() });

  app.post(
    "/register",
    { schema: { tags, summary: "Create an account (with an invitation token: join its project)", body: register, response: { 201: ok(AuthSession), ...errorResponses } } },
    async (req, reply) => {
      const res = await app.deps.clients.users.register(rpc.register(req.body), await svc(req));
      return reply.code(201).send(okBody(session(res.session)));
    },
  );

  app.post(
    "/login",
    { schema: { tags, summary: "Log in with email or username", body: login, response: { 200: ok(AuthSession), ...errorResponses } } },
    async (req) => {
      const res = await app.deps.clients.users.login(rpc.login(req.body), await svc(req));
      return okBody(session(res.session));
    },
  );

  app.post(
    "/refresh",
    {
      schema: {
        tags,
        summary: "Trade a refresh token for a new pair (rotation; reuse revokes the family)",
        body: refreshToken,
        response: { 200: ok(AuthSession), ...errorResponses },
      },
    },
    async (req) => {
      const res = await app.deps.clients.users.refresh({ refreshToken: req.body.refreshToken }, await svc(req));
      return okBody(session(res.session));
    },
  );

  app.post(
    "/logout",
    {
      schema: {
        tags,
        summary: "Revoke a refresh token's family; send the session's access token as Authorization: Bearer to have it refused everywhere until it expires",
        body: refreshToken,
        response: { 204: noContent, ...errorResponses },
      },
    },
    async (req, reply) => {
      const accessToken = bearer(req.headers.authorization) ?? "";
      await app.deps.clients.users.logout({ refreshToken: req.body.refreshToken, accessToken }, await svc(req));
      return reply.code(204).send();
    },
  );

  app.post(
    "/password-reset",
    {
      schema: {
        tags,
        summary: "Mail a single-use reset token (valid 30 min). Always 202: the answer says nothing about whether the email has an account",
        body: resetRequest,
        response: { 202: noContent, ...errorResponses },
      },
    },
    async (req, reply) => {
      await app.limits.resetEmail(req.body.email, reply);
      await app.deps.clients.users.requestPasswordReset({ email: req.body.email }, await svc(req));
      return reply.code(202).send();
    },
  );

  app.post(
    "/password-reset/confirm",
    {
      schema: {
        tags,
        summary: "Spend a reset token: set the password and end every session of the account",
        body: resetConfirm,
        response: { 204: noContent, ...errorResponses },
      },
    },
    async (req, reply) => {
      await app.deps.clients.users.confirmPasswordReset({ token: req.body.token, newPassword: req.body.newPassword }, await svc(req));
      return reply.code(204).send();
    },
  );

  app.post(
    "/verify-email",
    { schema: { tags, summary: "Spend an email verification token (mailed by POST /users/me/verify-email)", body: verifyEmail, response: { 200: ok(User), ...errorResponses } } },
    async (req) => okBody(map.user((await app.deps.clients.users.verifyEmail({ token: req.body.token }, await svc(req))).user)),
  );
};

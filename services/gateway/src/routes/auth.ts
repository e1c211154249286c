import type { FastifyPluginAsync, FastifyRequest } from "fastify";
import { bearer, invalid } from "@sker/kit";
import { AuthSession, bodies, noContent, ok, User } from "../rest/schemas.js";
import * as map from "../rest/map.js";
import { teamBodies } from "../rest/team-schemas.js";
import { as, errorResponses, okBody } from "./common.js";
import { session } from "./session.js";

// Public routes: register, login, refresh, logout, password reset, email verification. They
// call the store with the gateway's service token; the store hashes passwords and tokens and
// rotates refresh families.

export const authRoutes: FastifyPluginAsync = async (app) => {
  app.addHook("onRequest", app.limits.authIp);
  const tags = ["auth"];
  const svc = async (req: FastifyRequest) => as(req, { token: await app.serviceToken() });

  app.post<{ Body: { email: string; username: string; password: string; displayName?: string; invitationToken?: string } }>(
    "/register",
    { schema: { tags, summary: "Create an account (with an invitation token: join its project)", body: bodies.register, response: { 201: ok(AuthSession), ...errorResponses } } },
    async (req, reply) => {
      const { email, username, password, displayName, invitationToken } = req.body;
      const res = await app.deps.clients.users.register({ email, username, password, displayName: displayName ?? "", invitationToken: invitationToken ?? "" }, await svc(req));
      return reply.code(201).send(okBody(session(res.session)));
    },
  );

  app.post<{ Body: { email?: string; username?: string; password: string } }>(
    "/login",
    { schema: { tags, summary: "Log in with email or username", body: bodies.login, response: { 200: ok(AuthSession), ...errorResponses } } },
    async (req) => {
      const login = req.body.email ?? req.body.username;
      if (!login) throw invalid("email", "send email or username");
      const res = await app.deps.clients.users.login({ login, password: req.body.password }, await svc(req));
      return okBody(session(res.session));
    },
  );

  app.post<{ Body: { refreshToken: string } }>(
    "/refresh",
    {
      schema: {
        tags,
        summary: "Trade a refresh token for a new pair (rotation; reuse revokes the family)",
        body: bodies.refreshToken,
        response: { 200: ok(AuthSession), ...errorResponses },
      },
    },
    async (req) => {
      const res = await app.deps.clients.users.refresh({ refreshToken: req.body.refreshToken }, await svc(req));
      return okBody(session(res.session));
    },
  );

  app.post<{ Body: { refreshToken: string } }>(
    "/logout",
    {
      schema: {
        tags,
        summary: "Revoke a refresh token's family; send the session's access token as Authorization: Bearer to have it refused everywhere until it expires",
        body: bodies.refreshToken,
        response: { 204: noContent, ...errorResponses },
      },
    },
    async (req, reply) => {
      const accessToken = bearer(req.headers.authorization) ?? "";
      await app.deps.clients.users.logout({ refreshToken: req.body.refreshToken, accessToken }, await svc(req));
      return reply.code(204).send();
    },
  );

  app.post<{ Body: { email: string } }>(
    "/password-reset",
    {
      schema: {
        tags,
        summary: "Mail a single-use reset token (valid 30 min). Always 202: the answer says nothing about whether the email has an account",
        body: teamBodies.resetRequest,
        response: { 202: noContent, ...errorResponses },
      },
    },
    async (req, reply) => {
      await app.limits.resetEmail(req, reply);
      await app.deps.clients.users.requestPasswordReset({ email: req.body.email }, await svc(req));
      return reply.code(202).send();
    },
  );

  app.post<{ Body: { token: string; newPassword: string } }>(
    "/password-reset/confirm",
    {
      schema: {
        tags,
        summary: "Spend a reset token: set the password and end every session of the account",
        body: teamBodies.resetConfirm,
        response: { 204: noContent, ...errorResponses },
      },
    },
    async (req, reply) => {
      await app.deps.clients.users.confirmPasswordReset({ token: req.body.token, newPassword: req.body.newPassword }, await svc(req));
      return reply.code(204).send();
    },
  );

  app.post<{ Body: { token: string } }>(
    "/verify-email",
    { schema: { tags, summary: "Spend an email verification token (mailed by POST /users/me/verify-email)", body: teamBodies.verifyEmail, response: { 200: ok(User), ...errorResponses } } },
    async (req) => okBody(map.user((await app.deps.clients.users.verifyEmail({ token: req.body.token }, await svc(req))).user)),
  );
};

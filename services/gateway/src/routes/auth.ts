import type { FastifyPluginAsync } from "fastify";
import { invalid } from "@sker/kit";
import type { AuthSession as Session } from "@sker/contracts/store/v1/user";
import * as map from "../rest/map.js";
import { AuthSession, bodies, noContent, ok } from "../rest/schemas.js";
import { errorResponses, okBody } from "./common.js";

// Public routes: register, login, refresh, logout. They call the store with the gateway's
// service token; the store hashes passwords and refresh tokens and rotates refresh families.

const session = (s: Session | undefined) => ({
  user: map.user(s?.user),
  accessToken: s?.accessToken ?? "",
  refreshToken: s?.refreshToken ?? "",
  expiresIn: s?.expiresIn ?? 0,
  tokenType: "Bearer",
});

export const authRoutes: FastifyPluginAsync = async (app) => {
  app.addHook("onRequest", app.limits.authIp);
  const tags = ["auth"];
  const svc = async (requestId: string) => ({ token: await app.serviceToken(), requestId });

  app.post<{ Body: { email: string; username: string; password: string; displayName?: string } }>(
    "/register",
    { schema: { tags, summary: "Create an account", body: bodies.register, response: { 201: ok(AuthSession), ...errorResponses } } },
    async (req, reply) => {
      const { email, username, password, displayName } = req.body;
      const res = await app.deps.clients.users.register({ email, username, password, displayName: displayName ?? "" }, await svc(req.id));
      return reply.code(201).send(okBody(session(res.session)));
    },
  );

  app.post<{ Body: { email?: string; username?: string; password: string } }>(
    "/login",
    { schema: { tags, summary: "Log in with email or username", body: bodies.login, response: { 200: ok(AuthSession), ...errorResponses } } },
    async (req) => {
      const login = req.body.email ?? req.body.username;
      if (!login) throw invalid("email", "send email or username");
      const res = await app.deps.clients.users.login({ login, password: req.body.password }, await svc(req.id));
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
      const res = await app.deps.clients.users.refresh({ refreshToken: req.body.refreshToken }, await svc(req.id));
      return okBody(session(res.session));
    },
  );

  app.post<{ Body: { refreshToken: string } }>(
    "/logout",
    { schema: { tags, summary: "Revoke a refresh token's family", body: bodies.refreshToken, response: { 204: noContent, ...errorResponses } } },
    async (req, reply) => {
      await app.deps.clients.users.logout({ refreshToken: req.body.refreshToken }, await svc(req.id));
      return reply.code(204).send();
    },
  );
};

import fp from "fastify-plugin";
import type { FastifyReply, FastifyRequest } from "fastify";
import { AppError, bearer, forbidden, unauthenticated, type Tokens } from "@sker/kit";
import { UserRole } from "@sker/contracts/store/v1/user";
import { ApiKeyCache } from "../auth/api-key-cache.js";
import { as } from "../routes/common.js";
import type { GatewayDeps, RequestUser } from "../types.js";

declare module "fastify" {
  interface FastifyInstance {
    /**
     * onRequest hook: an access JWT (verified here, alg pinned) or an X-API-Key (verified by the
     * store). A failure spends the client IP's auth budget; past it the answer is 429, and keys
     * from that IP are not sent to the store until the window ends.
     */
    authenticate: (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
    /** onRequest hook after authenticate: the store must say the caller is an admin now. */
    requireAdmin: (req: FastifyRequest) => Promise<void>;
    apiKeys: ApiKeyCache;
    /** The gateway's own service token, for Register/Login/Refresh/Logout/VerifyApiKey. */
    serviceToken: () => Promise<string>;
  }
}

/** Verifies an access token locally. Used by REST and the WebSocket alike. */
export async function userFromAccessToken(tokens: Tokens, token: string): Promise<RequestUser> {
  const caller = await tokens.verify(token);
  if (caller.kind !== "user") throw unauthenticated("not a user token");
  return { userId: caller.userId, email: caller.email, username: caller.username, via: "jwt", tokenId: caller.tokenId };
}

export const authPlugin = fp<{ deps: GatewayDeps }>(
  async (app, { deps }) => {
    const serviceToken = () => deps.tokens.service("gateway");
    const apiKeys = new ApiKeyCache(deps.clients, serviceToken, deps.config.apiKeyCacheMs);

    app.decorateRequest("user", null);
    app.decorateRequest("userToken", "");
    app.decorate("apiKeys", apiKeys);
    app.decorate("serviceToken", serviceToken);

    const identify = async (req: FastifyRequest, reply: FastifyReply) => {
      const key = req.headers["x-api-key"];
      if (typeof key === "string" && key !== "") {
        if (key.length > 512) throw unauthenticated("invalid API key");
        const { user, token } = await apiKeys.verify(key, req.id, () => app.limits.assertNotBlocked(req, reply));
        req.user = user;
        req.userToken = token;
        return;
      }
      const token = bearer(req.headers.authorization);
      if (!token) throw unauthenticated("send an access token as 'Authorization: Bearer <token>' or an API key as X-API-Key");
      req.user = await userFromAccessToken(deps.tokens, token);
      req.userToken = token;
    };

    app.decorate("authenticate", async (req: FastifyRequest, reply: FastifyReply) => {
      try {
        await identify(req, reply);
      } catch (err) {
        // An expired token is one of ours (only a holder of the secret could sign it) and costs a
        // local check: clients meet it every time a token runs out, and it must not lock them
        // out of /auth/refresh.
        if (err instanceof AppError && err.code === "UNAUTHENTICATED" && err.reason !== "TOKEN_EXPIRED") await app.limits.authFailed(req, reply);
        throw err;
      }
    });

    // Roles live in the database: asking the store each time means a demoted, disabled or
    // deleted admin is refused at once (admin routes are rare; the cost is one call).
    app.decorate("requireAdmin", async (req: FastifyRequest) => {
      if (!req.user) throw unauthenticated();
      const { user } = await deps.clients.users.getMe({}, as(req));
      if (user?.role !== UserRole.USER_ROLE_ADMIN) throw forbidden("administrators only");
    });
  },
  { name: "sker-auth", dependencies: ["sker-rate-limit"] },
);

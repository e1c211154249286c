import { AppError, invalid, notFound, unauthenticated, type Implementation } from "@sker/kit";
import type { UserServiceService } from "@sker/contracts/store/v1/user";
import { memberKey, userOf } from "../authz.js";
import { OWASP_SCRYPT_N } from "../config.js";
import type { StoreDeps } from "../deps.js";
import { acceptInvitationToken, acceptPendingFor } from "../invitations/repo.js";
import { parseId } from "../input/ids.js";
import { adminUserHandlers } from "./admin-users.js";
import { apiKeyToProto, userToProto } from "./map.js";
import { passwordHandlers } from "./password.js";
import { dummyHash, hashPassword, needsRehash, verifyPassword } from "./passwords.js";
import { announceRevoked } from "./revoke.js";
import { reserveApiKey } from "../quotas/enforce.js";
import { newSecret, sha256 } from "./secrets.js";
import { issueSession, logout, rotate } from "./sessions.js";
import { uniqueViolation } from "../db/sql.js";
import { checkKeyName, checkRegister, checkUpdateMe } from "./validate.js";
import { deleteAccount } from "./delete.js";
import { deleteApiKey, findByLogin, findKeyOwner, findUser, hasAnyUser, holdersOf, insertApiKey, insertUser, listApiKeys, patchUser, recordLogin, touchApiKey } from "./repo.js";
import { verifyEmailHandlers } from "./verify-email.js";

export function userService(deps: StoreDeps): Implementation<typeof UserServiceService> {
  const { db } = deps;
  const scryptN = deps.config.scryptCost ?? OWASP_SCRYPT_N;

  /** After a commit that made the user a member somewhere: their cached "not a member" goes. */
  const joined = async (userId: string, projectIds: string[]) => {
    if (projectIds.length === 0) return;
    await deps.cache.del(...projectIds.map((p) => memberKey(p, userId)));
    deps.afterCommit();
  };

  const me = async (userId: string) => {
    const row = await findUser(db, userId);
    if (!row) throw unauthenticated("this account no longer exists");
    return row;
  };

  return {
    async register(req) {
      const input = checkRegister(req);
      const taken = await holdersOf(db, input.email, input.username);
      const conflict = (field: "email" | "username", cause?: unknown) => new AppError("CONFLICT", `${field} is already taken`, { field }, { cause });
      if (taken.some((t) => t.email.toLowerCase() === input.email.toLowerCase())) throw conflict("email");
      if (taken.length) throw conflict("username");
      const passwordHash = await hashPassword(input.password, scryptN);
      try {
        const { session, projects } = await db.transaction().execute(async (trx) => {
          // The first account of an empty embedded install administers it (inside the
          // transaction: PGlite runs one at a time, so two first registrations cannot both win).
          const first = deps.config.firstUserIsAdmin && !(await hasAnyUser(trx));
          const user = await insertUser(trx, {
            email: input.email,
            username: input.username,
            password_hash: passwordHash,
            display_name: input.displayName || input.username,
            settings: "{}",
            ...(first ? { role: "admin" as const } : {}),
          });
          const projects = req.invitationToken ? await acceptInvitationToken(trx, req.invitationToken, user) : [];
          return { session: await issueSession(trx, deps, user), projects };
        });
        await joined(session.user!.id, projects);
        return { session };
      } catch (err) {
        // Lost a race with a concurrent registration of the same name: the unique index decides.
        const index = uniqueViolation(err);
        if (index !== undefined) throw conflict(index.includes("email") ? "email" : "username", err);
        throw err;
      }
    },

    async login(req) {
      const login = (req.login ?? "").trim();
      if (!login) throw invalid("login", "is required (an email or a username)");
      if (!req.password) throw invalid("password", "is required");
      const column = login.includes("@") ? "email" : "username";
      const user = await findByLogin(db, column, login);
      // Verify against a dummy hash when nobody matches, so timing does not reveal accounts.
      const ok = await verifyPassword(req.password, user?.password_hash ?? (await dummyHash(scryptN)));
      if (!user || !ok) throw unauthenticated("invalid credentials");
      if (user.disabled_at) throw unauthenticated("this account is disabled");
      // An old, cheaper hash is replaced now that the password is at hand.
      const rehash = needsRehash(user.password_hash, scryptN) ? await hashPassword(req.password, scryptN) : undefined;
      const { session, projects } = await db.transaction().execute(async (trx) => {
        await recordLogin(trx, user.id, rehash);
        // Invitations sent to a proven mailbox since the last sign-in are joined now.
        const projects = user.email_verified_at ? await acceptPendingFor(trx, user.id, user.email) : [];
        return { session: await issueSession(trx, deps, user), projects };
      });
      await joined(user.id, projects);
      return { session };
    },

    async refresh(req) {
      if (!req.refreshToken) throw invalid("refreshToken", "is required");
      return { session: await rotate(deps, req.refreshToken) };
    },

    async logout(req) {
      if (!req.refreshToken) throw invalid("refreshToken", "is required");
      const loggedOut = await logout(deps, req.refreshToken);
      if (req.accessToken && loggedOut) {
        // The access token of that session is refused on every hop until it expires.
        const caller = await deps.tokens.verify(req.accessToken).catch(() => undefined);
        if (caller?.kind === "user" && caller.userId === loggedOut) {
          await deps.denyList.add(caller.tokenId, caller.expiresAt);
          await announceRevoked(deps, caller.userId, caller.tokenId);
        }
      }
      return {};
    },

    async verifyApiKey(req) {
      if (!req.key) throw invalid("key", "is required");
      const row = await findKeyOwner(db, sha256(req.key));
      if (!row || row.disabled_at) throw unauthenticated("invalid API key");
      // last_used_at at minute resolution: a busy key does not write on every request.
      if (!row.key_last_used_at || Date.now() - row.key_last_used_at.getTime() > 60_000)
        await touchApiKey(db, row.key_id);
      const ttl = deps.config.apiKeyTokenTtlSeconds ?? 300;
      const { key_id, key_last_used_at: _, ...user } = row;
      return { user: userToProto(user), apiKeyId: key_id, accessToken: await deps.tokens.signAccess(user, ttl), expiresIn: ttl };
    },

    async getMe(_req, ctx) {
      return { user: userToProto(await me(userOf(ctx.caller))) };
    },

    async updateMe(req, ctx) {
      const userId = userOf(ctx.caller);
      const patch = checkUpdateMe(req);
      if (Object.keys(patch).length === 0) return { user: userToProto(await me(userId)) };
      const row = await patchUser(db, userId, patch);
      if (!row) throw unauthenticated("this account no longer exists");
      return { user: userToProto(row) };
    },

    async deleteMe(_req, ctx) {
      const userId = userOf(ctx.caller);
      await deleteAccount(deps, userId);
      await announceRevoked(deps, userId);
      return {};
    },

    async createApiKey(req, ctx) {
      const userId = userOf(ctx.caller);
      const name = checkKeyName(req.name);
      const key = newSecret("sk_");
      const row = await db.transaction().execute(async (trx) => {
        await reserveApiKey(trx, userId, deps.config.quotas);
        return insertApiKey(trx, userId, name, key.slice(0, 10), sha256(key));
      });
      return { apiKey: apiKeyToProto(row, key) };
    },

    async listApiKeys(_req, ctx) {
      const rows = await listApiKeys(db, userOf(ctx.caller));
      return { apiKeys: rows.map((r) => apiKeyToProto(r)) };
    },

    ...passwordHandlers(deps, scryptN),
    ...verifyEmailHandlers(deps, joined),
    ...adminUserHandlers(deps),

    async deleteApiKey(req, ctx) {
      const id = parseId("id", req.id);
      if (!(await deleteApiKey(db, id, userOf(ctx.caller)))) throw notFound("api key");
      return {};
    },
  };
}

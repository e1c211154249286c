import { AppError, invalid, unauthenticated, type Implementation } from "@sker/kit";
import type { UserServiceService } from "@sker/contracts/store/v1/user";
import { userOf } from "../authz.js";
import type { StoreDeps } from "../deps.js";
import { queueMail } from "../mail/outbox.js";
import { hashPassword, verifyPassword } from "./passwords.js";
import { issueUserToken, spendUserToken } from "./one-time.js";
import { announceRevoked, revokeSessions } from "./revoke.js";
import { findByEmail, findUser, setPasswordHash } from "./repo.js";
import { issueSession } from "./sessions.js";
import { checkEmail, checkPassword } from "./validate.js";

const RESET_TTL_SECONDS = 30 * 60;

type Handlers = Pick<Implementation<typeof UserServiceService>, "changePassword" | "requestPasswordReset" | "confirmPasswordReset">;

/** Password change (signed in) and reset (by a mailed single-use token). */
export function passwordHandlers(deps: StoreDeps, scryptN: number): Handlers {
  const { db } = deps;
  return {
    async changePassword(req, ctx) {
      const userId = userOf(ctx.caller);
      if (!req.currentPassword) throw invalid("currentPassword", "is required");
      const next = checkPassword(req.newPassword, "newPassword");
      const user = await findUser(db, userId);
      if (!user) throw unauthenticated("this account no longer exists");
      if (!(await verifyPassword(req.currentPassword, user.password_hash))) throw new AppError("FORBIDDEN", "currentPassword: does not match", { field: "currentPassword" });
      const hash = await hashPassword(next, scryptN);
      // Every session ends, this one included; the caller continues with the fresh one answered here.
      const session = await db.transaction().execute(async (trx) => {
        const version = await revokeSessions(trx, userId);
        await setPasswordHash(trx, userId, hash);
        return issueSession(trx, deps, { ...user, token_version: version });
      });
      await announceRevoked(deps, userId);
      return { session };
    },

    async requestPasswordReset(req) {
      const email = checkEmail(req.email);
      // The same answer whether or not the email has an account; only a live account gets mail.
      const user = await findByEmail(db, email);
      if (!user || user.disabled_at) return {};
      await db.transaction().execute(async (trx) => {
        const token = await issueUserToken(trx, user.id, "password_reset", RESET_TTL_SECONDS);
        await queueMail(trx, {
          to: user.email,
          subject: "Reset your SKER password",
          text: [
            `Hello ${user.username},`,
            "",
            "Someone (hopefully you) asked to reset the password of your SKER account.",
            `Open ${deps.config.publicUrl}/reset-password?token=${token} within 30 minutes, or send`,
            `POST /api/v1/auth/password-reset/confirm {"token":"${token}","newPassword":"..."}`,
            "",
            "If it was not you, ignore this mail: your password stays as it is.",
          ].join("\n"),
        });
      });
      deps.afterMail();
      return {};
    },

    async confirmPasswordReset(req) {
      const next = checkPassword(req.newPassword, "newPassword");
      const hash = await hashPassword(next, scryptN);
      const userId = await db.transaction().execute(async (trx) => {
        const id = await spendUserToken(trx, req.token, "password_reset");
        await revokeSessions(trx, id);
        await setPasswordHash(trx, id, hash);
        return id;
      });
      await announceRevoked(deps, userId);
      return {};
    },
  };
}

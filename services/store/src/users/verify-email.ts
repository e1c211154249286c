import type { Implementation } from "@sker/kit";
import type { UserServiceService } from "@sker/contracts/store/v1/user";
import type { Transaction } from "kysely";
import { userOf } from "../authz.js";
import type { Database, UserRow } from "../db/schema.js";
import type { StoreDeps } from "../deps.js";
import { acceptPendingFor } from "../invitations/repo.js";
import { queueMail } from "../mail/outbox.js";
import { userToProto } from "./map.js";
import { issueUserToken, spendUserToken } from "./one-time.js";
import { mailbox, setVerified } from "./repo.js";

const VERIFY_TTL_SECONDS = 24 * 3_600;

type Handlers = Pick<Implementation<typeof UserServiceService>, "requestEmailVerification" | "verifyEmail">;

/**
 * The mailbox is proven (by a mailed token): the email counts as verified, SKER_ADMIN_EMAILS
 * may make the account an admin, and invitations to that email are joined. Answers the row and
 * the projects joined.
 */
export async function markVerified(trx: Transaction<Database>, deps: StoreDeps, userId: string): Promise<{ user: UserRow; joined: string[] }> {
  const current = await mailbox(trx, userId);
  const admin = (deps.config.adminEmails ?? []).includes(current.email.toLowerCase());
  const user = await setVerified(trx, userId, admin);
  return { user, joined: await acceptPendingFor(trx, userId, user.email) };
}

export function verifyEmailHandlers(deps: StoreDeps, onJoined: (userId: string, projects: string[]) => Promise<void>): Handlers {
  const { db } = deps;
  return {
    async requestEmailVerification(_req, ctx) {
      const userId = userOf(ctx.caller);
      await db.transaction().execute(async (trx) => {
        const user = await mailbox(trx, userId);
        if (user.email_verified_at) return;
        const token = await issueUserToken(trx, userId, "verify_email", VERIFY_TTL_SECONDS);
        await queueMail(trx, {
          to: user.email,
          subject: "Confirm your email address for SKER",
          text: [
            `Hello ${user.username},`,
            "",
            `Confirm that this mailbox is yours: ${deps.config.publicUrl}/verify-email?token=${token}`,
            `(or POST /api/v1/auth/verify-email {"token":"${token}"}) within 24 hours.`,
          ].join("\n"),
        });
      });
      deps.afterMail();
      return {};
    },

    async verifyEmail(req) {
      const { user, joined } = await db.transaction().execute(async (trx) => markVerified(trx, deps, await spendUserToken(trx, req.token, "verify_email")));
      await onJoined(user.id, joined);
      return { user: userToProto(user) };
    },
  };
}

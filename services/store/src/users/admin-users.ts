import { AppError, forbidden, notFound, type Implementation } from "@sker/kit";
import type { UserServiceService } from "@sker/contracts/store/v1/user";
import { userOf } from "../authz.js";
import type { StoreDeps } from "../deps.js";
import { parseId } from "../input/ids.js";
import { pageOf, parsePage } from "../input/page.js";
import { userToProto } from "./map.js";
import { listUsers, lockUser, patchUser, roleOfUser } from "./repo.js";
import { announceRevoked, revokeSessions } from "./revoke.js";

type Handlers = Pick<Implementation<typeof UserServiceService>, "listUsers" | "setUserDisabled">;

/** Admins list accounts (with last login) and disable or re-enable them. */
export function adminUserHandlers(deps: StoreDeps): Handlers {
  const { db } = deps;
  // Read from the database each time, not from the token: a demoted admin stops at once.
  const requireAdmin = async (userId: string) => {
    if ((await roleOfUser(db, userId)) !== "admin") throw forbidden("administrators only");
  };

  return {
    async listUsers(req, ctx) {
      await requireAdmin(userOf(ctx.caller));
      const page = parsePage(req.page);
      const query = (req.query ?? "").trim().toLowerCase();
      if (query.length > 254) throw new AppError("VALIDATION_ERROR", "query: must be at most 254 characters", { field: "query" });
      const rows = await listUsers(db, query, page);
      const { items, nextCursor } = pageOf(rows, page.limit);
      return { users: items.map(userToProto), nextCursor };
    },

    async setUserDisabled(req, ctx) {
      const adminId = userOf(ctx.caller);
      await requireAdmin(adminId);
      const userId = parseId("userId", req.userId);
      if (userId === adminId && req.disabled) throw new AppError("FAILED_PRECONDITION", "you cannot disable your own account");
      const row = await db.transaction().execute(async (trx) => {
        const found = await lockUser(trx, userId);
        if (!found) throw notFound("user");
        if (req.disabled && !found.disabled_at) await revokeSessions(trx, userId);
        return (await patchUser(trx, userId, { disabled_at: req.disabled ? (found.disabled_at ?? new Date()) : null }))!;
      });
      await announceRevoked(deps, userId);
      return { user: userToProto(row) };
    },
  };
}

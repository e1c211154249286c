import { AppError, forbidden, notFound, type Implementation } from "@sker/kit";
import type { UserServiceService } from "@sker/contracts/store/v1/user";
import { sql } from "kysely";
import { userOf } from "../authz.js";
import type { StoreDeps } from "../deps.js";
import { parseId } from "../input/ids.js";
import { pageOf, parsePage } from "../input/page.js";
import { userToProto } from "./map.js";
import { announceRevoked, revokeSessions } from "./revoke.js";

type Handlers = Pick<Implementation<typeof UserServiceService>, "listUsers" | "setUserDisabled">;

/** Admins list accounts (with last login) and disable or re-enable them. */
export function adminUserHandlers(deps: StoreDeps): Handlers {
  const { db } = deps;
  // Read from the database each time, not from the token: a demoted admin stops at once.
  const requireAdmin = async (userId: string) => {
    const row = await db.selectFrom("users").select("role").where("id", "=", userId).executeTakeFirst();
    if (row?.role !== "admin") throw forbidden("administrators only");
  };

  return {
    async listUsers(req, ctx) {
      await requireAdmin(userOf(ctx.caller));
      const page = parsePage(req.page);
      const query = (req.query ?? "").trim().toLowerCase();
      if (query.length > 254) throw new AppError("VALIDATION_ERROR", "query: must be at most 254 characters", { field: "query" });
      let q = db.selectFrom("users").selectAll();
      if (query) {
        const like = `%${query.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
        q = q.where((eb) => eb.or([eb(eb.fn("lower", ["email"]), "like", like), eb(eb.fn("lower", ["username"]), "like", like)]));
      }
      if (page.after) q = q.where(sql<boolean>`(created_at, id) > (${page.after.at}, ${page.after.id})`);
      const rows = await q.orderBy("created_at").orderBy("id").limit(page.limit + 1).execute();
      const { items, nextCursor } = pageOf(rows, page.limit);
      return { users: items.map(userToProto), nextCursor };
    },

    async setUserDisabled(req, ctx) {
      const adminId = userOf(ctx.caller);
      await requireAdmin(adminId);
      const userId = parseId("userId", req.userId);
      if (userId === adminId && req.disabled) throw new AppError("FAILED_PRECONDITION", "you cannot disable your own account");
      const row = await db.transaction().execute(async (trx) => {
        const found = await trx.selectFrom("users").select("disabled_at").where("id", "=", userId).forUpdate().executeTakeFirst();
        if (!found) throw notFound("user");
        if (req.disabled && !found.disabled_at) await revokeSessions(trx, userId);
        return trx
          .updateTable("users")
          .set({ disabled_at: req.disabled ? (found.disabled_at ?? new Date()) : null, updated_at: new Date() })
          .where("id", "=", userId)
          .returningAll()
          .executeTakeFirstOrThrow();
      });
      await announceRevoked(deps, userId);
      return { user: userToProto(row) };
    },
  };
}

import { AppError, notFound, type CallContext, type UnaryHandler } from "@sker/kit";
import type {
  ListMembersRequest,
  ListMembersResponse,
  PutMemberRequest,
  PutMemberResponse,
  RemoveMemberRequest,
  RemoveMemberResponse,
} from "@sker/contracts/store/v1/project";
import type { Transaction } from "kysely";
import { memberKey, requireRole, userOf } from "../authz.js";
import type { Database, Role } from "../db/schema.js";
import type { StoreDeps } from "../deps.js";
import { appendEvent } from "../events/append.js";
import { payload } from "../events/payload.js";
import { requireEnum } from "../input/enum.js";
import { parseId } from "../input/ids.js";
import { memberToProto, ROLE, type MemberView } from "./map.js";

const lastOwner = () => new AppError("FAILED_PRECONDITION", "a project must keep at least one owner; make someone else owner first");

/** Locks the project row (members of one project change one at a time) and counts its owners. */
async function lockOwners(trx: Transaction<Database>, projectId: string): Promise<number> {
  const p = await trx.selectFrom("projects").select("id").where("id", "=", projectId).where("deleted_at", "is", null).forUpdate().executeTakeFirst();
  if (!p) throw notFound("project");
  const { n } = await trx
    .selectFrom("project_members")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("project_id", "=", projectId)
    .where("role", "=", "owner")
    .executeTakeFirstOrThrow();
  return n;
}

function memberQuery(db: Transaction<Database> | StoreDeps["db"], projectId: string) {
  return db
    .selectFrom("project_members as m")
    .innerJoin("users as u", "u.id", "m.user_id")
    .select(["m.project_id", "m.user_id", "u.username", "u.email", "m.role", "m.created_at"])
    .where("m.project_id", "=", projectId);
}

export function memberHandlers(deps: StoreDeps): {
  listMembers: UnaryHandler<ListMembersRequest, ListMembersResponse>;
  putMember: UnaryHandler<PutMemberRequest, PutMemberResponse>;
  removeMember: UnaryHandler<RemoveMemberRequest, RemoveMemberResponse>;
} {
  const { db } = deps;
  return {
    async listMembers(req, ctx) {
      const projectId = parseId("projectId", req.projectId);
      const role = await requireRole(deps, ctx, projectId, "viewer");
      const rows = await memberQuery(db, projectId).orderBy("m.created_at").orderBy("m.user_id").execute();
      // Email addresses are for owners (who invite by them); others see usernames.
      return { members: rows.map((m) => memberToProto(role === "owner" ? m : { ...m, email: "" })) };
    },

    async putMember(req, ctx: CallContext) {
      const projectId = parseId("projectId", req.projectId);
      const userId = parseId("userId", req.userId);
      const role = requireEnum<Role>("role", req.role, ROLE);
      await requireRole(deps, ctx, projectId, "owner");
      const member: MemberView = await db.transaction().execute(async (trx) => {
        const owners = await lockOwners(trx, projectId);
        const user = await trx.selectFrom("users").select("id").where("id", "=", userId).executeTakeFirst();
        if (!user) throw notFound("user");
        const current = await trx.selectFrom("project_members").select("role").where("project_id", "=", projectId).where("user_id", "=", userId).executeTakeFirst();
        if (current?.role === "owner" && role !== "owner" && owners <= 1) throw lastOwner();
        await trx
          .insertInto("project_members")
          .values({ project_id: projectId, user_id: userId, role })
          .onConflict((oc) => oc.columns(["project_id", "user_id"]).doUpdateSet({ role }))
          .execute();
        const view = await memberQuery(trx, projectId).where("m.user_id", "=", userId).executeTakeFirstOrThrow();
        if (current?.role !== role) await appendEvent(trx, projectId, "member.updated", payload.member(view), { userId: userOf(ctx.caller) });
        return view;
      });
      await deps.cache.del(memberKey(projectId, userId));
      deps.afterCommit();
      return { member: memberToProto(member) };
    },

    async removeMember(req, ctx) {
      const projectId = parseId("projectId", req.projectId);
      const userId = parseId("userId", req.userId);
      // Owners remove anyone; any member may leave.
      await requireRole(deps, ctx, projectId, userId === userOf(ctx.caller) ? "viewer" : "owner");
      await db.transaction().execute(async (trx) => {
        const owners = await lockOwners(trx, projectId);
        const current = await trx.selectFrom("project_members").select("role").where("project_id", "=", projectId).where("user_id", "=", userId).executeTakeFirst();
        if (!current) throw notFound("member");
        if (current.role === "owner" && owners <= 1) throw lastOwner();
        await trx.deleteFrom("project_members").where("project_id", "=", projectId).where("user_id", "=", userId).execute();
        await appendEvent(trx, projectId, "member.updated", payload.memberRemoved(projectId, userId), { userId: userOf(ctx.caller) });
      });
      await deps.cache.del(memberKey(projectId, userId));
      deps.afterCommit();
      return {};
    },
  };
}

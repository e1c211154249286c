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
import { requireEnum } from "../input/enum.js";
import { parseId } from "../input/ids.js";
import { putMemberTx, removeMemberTx } from "./changes.js";
import { memberToProto, ROLE, type MemberView } from "./map.js";
import { countOwners, listMembers, lockProject, roleOf, userExists } from "./repo.js";

const lastOwner = () => new AppError("FAILED_PRECONDITION", "a project must keep at least one owner; make someone else owner first");

/** Locks the project row (members of one project change one at a time) and counts its owners. */
async function lockOwners(trx: Transaction<Database>, projectId: string): Promise<number> {
  if (!(await lockProject(trx, projectId))) throw notFound("project");
  return countOwners(trx, projectId);
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
      const rows = await listMembers(db, projectId);
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
        if (!(await userExists(trx, userId))) throw notFound("user");
        const current = await roleOf(trx, projectId, userId);
        if (current === "owner" && role !== "owner" && owners <= 1) throw lastOwner();
        return putMemberTx(trx, projectId, userId, role, current, { userId: userOf(ctx.caller) });
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
        const current = await roleOf(trx, projectId, userId);
        if (!current) throw notFound("member");
        if (current === "owner" && owners <= 1) throw lastOwner();
        await removeMemberTx(trx, projectId, userId, { userId: userOf(ctx.caller) });
      });
      await deps.cache.del(memberKey(projectId, userId));
      deps.afterCommit();
      return {};
    },
  };
}

import { AppError, notFound, toProtoEnum, type UnaryHandler } from "@sker/kit";
import { LIMITS } from "@sker/contracts/limits";
import type { Role as ProtoRole } from "@sker/contracts/common/v1/common";
import type {
  AcceptInvitationRequest,
  AcceptInvitationResponse,
  CreateInvitationRequest,
  CreateInvitationResponse,
  Invitation,
  ListInvitationsRequest,
  ListInvitationsResponse,
  RevokeInvitationRequest,
  RevokeInvitationResponse,
} from "@sker/contracts/store/v1/project";
import type { Selectable } from "kysely";
import { memberKey, requireRole, userOf } from "../authz.js";
import type { InvitationsTable, Role } from "../db/schema.js";
import type { StoreDeps } from "../deps.js";
import { queueMail } from "../mail/outbox.js";
import { cachedProject } from "../projects/cache.js";
import { memberToProto, projectToProto, ROLE } from "../projects/map.js";
import { requireEnum } from "../input/enum.js";
import { parseId } from "../input/ids.js";
import { newSecret, sha256 } from "../users/secrets.js";
import { checkEmail } from "../users/validate.js";
import { addMember, findPendingByToken, listPending, pending } from "./repo.js";

const DEFAULT_TTL_SECONDS = 7 * 86_400;

function toProto(row: Selectable<InvitationsTable>, token = "", link = ""): Invitation {
  return {
    id: row.id,
    projectId: row.project_id,
    email: row.email,
    role: toProtoEnum<ProtoRole>(row.role, ROLE),
    invitedBy: row.invited_by ?? "",
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    token,
    link,
  };
}

export function invitationHandlers(deps: StoreDeps): {
  createInvitation: UnaryHandler<CreateInvitationRequest, CreateInvitationResponse>;
  listInvitations: UnaryHandler<ListInvitationsRequest, ListInvitationsResponse>;
  revokeInvitation: UnaryHandler<RevokeInvitationRequest, RevokeInvitationResponse>;
  acceptInvitation: UnaryHandler<AcceptInvitationRequest, AcceptInvitationResponse>;
} {
  const { db } = deps;
  const ttl = deps.config.invitationTtlSeconds ?? DEFAULT_TTL_SECONDS;
  const linkOf = (token: string) => `${deps.config.publicUrl ?? "http://localhost:3000"}/invitations/accept?token=${token}`;

  return {
    async createInvitation(req, ctx) {
      const projectId = parseId("projectId", req.projectId);
      const email = checkEmail(req.email);
      const role = requireEnum<Role>("role", req.role, ROLE);
      // Only owners get this far, so nobody else learns whether an email has an account.
      await requireRole(deps, ctx, projectId, "owner");
      const inviterId = userOf(ctx.caller);
      const existing = await db
        .selectFrom("users")
        .select("id")
        .where((eb) => eb(eb.fn("lower", ["email"]), "=", email.toLowerCase()))
        .executeTakeFirst();
      if (existing) {
        const res = await db.transaction().execute((trx) => addMember(trx, projectId, existing.id, role, { userId: inviterId }));
        if (!res) throw notFound("project");
        if (!res.added) throw new AppError("CONFLICT", "email: is already a member of this project", { field: "email" });
        await deps.cache.del(memberKey(projectId, existing.id));
        deps.afterCommit();
        return { member: memberToProto(res.view) };
      }
      const project = await cachedProject(deps, projectId);
      if (!project) throw notFound("project");
      const token = newSecret("inv_");
      const row = await db.transaction().execute(async (trx) => {
        // Inviting the same email again replaces the earlier invitation (and its token).
        await trx
          .updateTable("invitations")
          .set({ revoked_at: new Date() })
          .where("project_id", "=", projectId)
          .where((eb) => eb(eb.fn("lower", ["email"]), "=", email.toLowerCase()))
          .where("accepted_at", "is", null)
          .where("revoked_at", "is", null)
          .execute();
        const inv = await trx
          .insertInto("invitations")
          .values({ project_id: projectId, email, role, token_hash: sha256(token), invited_by: inviterId, expires_at: new Date(Date.now() + ttl * 1000) })
          .returningAll()
          .executeTakeFirstOrThrow();
        const inviter = ctx.caller.kind === "user" ? ctx.caller.username : "someone";
        await queueMail(trx, {
          to: email,
          subject: `${inviter} invited you to "${project.name}" on SKER`,
          text: [
            `${inviter} invited you to join the canvas "${project.name}" as ${role}.`,
            "",
            `Accept: ${linkOf(token)}`,
            `or register with POST /api/v1/auth/register {"email":"${email}", ..., "invitationToken":"${token}"}`,
            `The invitation expires on ${inv.expires_at.toISOString()}.`,
          ].join("\n"),
        });
        return inv;
      });
      deps.afterMail();
      return { invitation: toProto(row, token, linkOf(token)) };
    },

    async listInvitations(req, ctx) {
      const projectId = parseId("projectId", req.projectId);
      await requireRole(deps, ctx, projectId, "owner");
      return { invitations: (await listPending(db, projectId)).map((r) => toProto(r)) };
    },

    async revokeInvitation(req, ctx) {
      const projectId = parseId("projectId", req.projectId);
      const id = parseId("id", req.id);
      await requireRole(deps, ctx, projectId, "owner");
      const res = await db.updateTable("invitations").set({ revoked_at: new Date() }).where("id", "=", id).where("project_id", "=", projectId).where(pending).executeTakeFirst();
      if (!res.numUpdatedRows) throw notFound("invitation");
      return {};
    },

    async acceptInvitation(req, ctx) {
      const userId = userOf(ctx.caller);
      if (!req.token || req.token.length > LIMITS.user.oneTimeToken) throw notFound("invitation");
      const inv = await findPendingByToken(db, req.token);
      if (!inv) throw notFound("invitation");
      const res = await db.transaction().execute(async (trx) => {
        const spent = await trx.updateTable("invitations").set({ accepted_at: new Date(), accepted_by: userId }).where("id", "=", inv.id).where(pending).executeTakeFirst();
        if (!spent.numUpdatedRows) return undefined;
        return addMember(trx, inv.project_id, userId, inv.role, { userId });
      });
      if (!res) throw notFound("invitation");
      await deps.cache.del(memberKey(inv.project_id, userId));
      deps.afterCommit();
      const project = await cachedProject(deps, inv.project_id);
      if (!project) throw notFound("invitation");
      return { project: projectToProto(project, res.view.role) };
    },
  };
}

import { notFound, type Implementation } from "@sker/kit";
import type { ProjectServiceService } from "@sker/contracts/store/v1/project";
import { sql } from "kysely";
import { requireRole, userOf } from "../authz.js";
import type { StoreDeps } from "../deps.js";
import { appendEvent } from "../events/append.js";
import { payload } from "../events/payload.js";
import { reserveProject } from "../quotas/enforce.js";
import { parseEnum } from "../input/enum.js";
import { parseId } from "../input/ids.js";
import { pageOf, parsePage } from "../input/page.js";
import { cachedProject, forgetProject } from "./cache.js";
import { getGraph } from "./graph.js";
import { PROJECT_STATUS, projectToProto } from "./map.js";
import { memberHandlers } from "./members.js";
import { invitationHandlers } from "../invitations/service.js";
import { keepBudget } from "../usage/budget.js";
import { checkCreate, checkUpdate } from "./validate.js";

export function projectService(deps: StoreDeps): Implementation<typeof ProjectServiceService> {
  const { db } = deps;
  return {
    async createProject(req, ctx) {
      const userId = userOf(ctx.caller);
      const input = checkCreate(req);
      // No event: nobody can be subscribed to a project that does not exist yet.
      const row = await db.transaction().execute(async (trx) => {
        await reserveProject(trx, userId, deps.config.quotas);
        const p = await trx.insertInto("projects").values({ ...input, owner_id: userId }).returningAll().executeTakeFirstOrThrow();
        await trx.insertInto("project_members").values({ project_id: p.id, user_id: userId, role: "owner" }).execute();
        return p;
      });
      return { project: projectToProto(row, "owner") };
    },

    async getProject(req, ctx) {
      const id = parseId("id", req.id);
      const role = await requireRole(deps, ctx, id, "viewer");
      const row = await cachedProject(deps, id);
      if (!row) throw notFound("project");
      return { project: projectToProto(row, role) };
    },

    async listProjects(req, ctx) {
      const userId = userOf(ctx.caller);
      const page = parsePage(req.page);
      const status = parseEnum<"active" | "archived">("status", req.status, PROJECT_STATUS);
      let q = db
        .selectFrom("project_members as m")
        .innerJoin("projects as p", "p.id", "m.project_id")
        .selectAll("p")
        .select("m.role")
        .where("m.user_id", "=", userId)
        .where("p.deleted_at", "is", null);
      if (status) q = q.where("p.status", "=", status);
      if (page.after) q = q.where(sql<boolean>`(p.created_at, p.id) > (${page.after.at}, ${page.after.id})`);
      const rows = await q.orderBy("p.created_at").orderBy("p.id").limit(page.limit + 1).execute();
      const { items, nextCursor } = pageOf(rows, page.limit);
      return { projects: items.map(({ role, ...p }) => projectToProto(p, role)), nextCursor };
    },

    async updateProject(req, ctx) {
      const id = parseId("id", req.id);
      const patch = checkUpdate(req);
      const role = await requireRole(deps, ctx, id, "editor");
      if (Object.keys(patch).length === 0) {
        const row = await cachedProject(deps, id);
        if (!row) throw notFound("project");
        return { project: projectToProto(row, role) };
      }
      const row = await db.transaction().execute(async (trx) => {
        if (patch.settings !== undefined && role !== "owner") await keepBudget(trx, id, patch.settings);
        const p = await trx
          .updateTable("projects")
          .set({ ...patch, updated_at: new Date() })
          .where("id", "=", id)
          .where("deleted_at", "is", null)
          .returningAll()
          .executeTakeFirst();
        if (!p) throw notFound("project");
        await appendEvent(trx, id, "project.updated", payload.project(p), { userId: userOf(ctx.caller) });
        return p;
      });
      await forgetProject(deps, id);
      deps.afterCommit();
      return { project: projectToProto(row, role) };
    },

    async deleteProject(req, ctx) {
      const id = parseId("id", req.id);
      await requireRole(deps, ctx, id, "owner");
      // Soft delete: membership checks treat it as gone at once; the rows stay for recovery.
      const memberIds = await db.transaction().execute(async (trx) => {
        const p = await trx.updateTable("projects").set({ deleted_at: new Date() }).where("id", "=", id).where("deleted_at", "is", null).returning("id").executeTakeFirst();
        if (!p) throw notFound("project");
        await appendEvent(trx, id, "project.deleted", payload.deleted(id), { userId: userOf(ctx.caller) });
        const members = await trx.selectFrom("project_members").select("user_id").where("project_id", "=", id).execute();
        return members.map((m) => m.user_id);
      });
      await forgetProject(deps, id, memberIds);
      deps.afterCommit();
      return {};
    },

    getGraph: getGraph(deps),
    ...memberHandlers(deps),
    ...invitationHandlers(deps),
  };
}

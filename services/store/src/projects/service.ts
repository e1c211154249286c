import { notFound, type Implementation } from "@sker/kit";
import type { ProjectServiceService } from "@sker/contracts/store/v1/project";
import { requireRole, userOf } from "../authz.js";
import type { StoreDeps } from "../deps.js";
import { reserveProject } from "../quotas/enforce.js";
import { parseEnum } from "../input/enum.js";
import { parseId } from "../input/ids.js";
import { pageOf, parsePage } from "../input/page.js";
import { cachedProject, forgetProject } from "./cache.js";
import { getGraph } from "./graph.js";
import { deleteProjectTx, updateProjectTx } from "./changes.js";
import { PROJECT_STATUS, projectToProto } from "./map.js";
import { memberHandlers } from "./members.js";
import { insertProject, listProjectsOf } from "./repo.js";
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
        return insertProject(trx, input, userId);
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
      const rows = await listProjectsOf(db, userId, status, page);
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
        return updateProjectTx(trx, id, patch, { userId: userOf(ctx.caller) });
      });
      await forgetProject(deps, id);
      deps.afterCommit();
      return { project: projectToProto(row, role) };
    },

    async deleteProject(req, ctx) {
      const id = parseId("id", req.id);
      await requireRole(deps, ctx, id, "owner");
      const memberIds = await db.transaction().execute((trx) => deleteProjectTx(trx, id, { userId: userOf(ctx.caller) }));
      await forgetProject(deps, id, memberIds);
      deps.afterCommit();
      return {};
    },

    getGraph: getGraph(deps),
    ...memberHandlers(deps),
    ...invitationHandlers(deps),
  };
}

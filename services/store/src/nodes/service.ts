import { AppError, invalid, notFound, type CallContext, type Implementation } from "@sker/kit";
import type { NodeServiceService } from "@sker/contracts/store/v1/node";
import type { Kysely } from "kysely";
import { requireRole, userOf } from "../authz.js";
import type { Database, NodeRow, Role } from "../db/schema.js";
import type { StoreDeps } from "../deps.js";
import { withinProjectQuota } from "../quotas/enforce.js";
import { parseId } from "../input/ids.js";
import { encodeCursor, pageOf, parsePage } from "../input/page.js";
import { cachedLiveNodeAndRole, forgetNodes } from "./cache.js";
import { changeNodeTx, createNodeTx, effectivePatch, hideNodeTx, removeNodeTx, restoreNodeTx } from "./changes.js";
import { listNodesJson } from "./json-page.js";
import { nodeToProto, versionToProto } from "./map.js";
import { findNode, findVersion, listNodes, listVersions, liveNodesIn, visibleNodes, wouldCycle } from "./repo.js";
import { checkCreate, checkIds, checkList, checkUpdate, checkVersion } from "./validate.js";

/** A live node and the caller's right to it; a node of someone else's project is NOT_FOUND. */
async function nodeForRole(deps: StoreDeps, ctx: CallContext, id: string, min: Role, { withDeleted = false } = {}): Promise<NodeRow> {
  // The hot read: the cached node and the caller's cached role come in one round trip.
  const { row, role } = withDeleted ? { row: await findNode(deps.db, id, { withDeleted }), role: undefined } : await cachedLiveNodeAndRole(deps, id, userOf(ctx.caller));
  if (!row) throw notFound("node");
  await requireRole(deps, ctx, row.project_id, min, "node", role);
  return row;
}

/** Locks the node for the rest of the transaction; it may have gone since it was read. */
async function lockNode(trx: Kysely<Database>, id: string, opts: { withDeleted?: boolean } = {}): Promise<NodeRow> {
  const row = await findNode(trx, id, { ...opts, lock: true });
  if (!row) throw notFound("node");
  return row;
}

export async function requireLiveNode(db: Kysely<Database>, projectId: string, id: string, field: string): Promise<NodeRow> {
  const [row] = await liveNodesIn(db, projectId, [id], { share: true });
  if (!row) throw invalid(field, "must be a live node of the same project");
  return row;
}

export function nodeService(deps: StoreDeps): Implementation<typeof NodeServiceService> {
  const { quotas } = deps.config;
  const commit = async (ids: string[]) => {
    deps.afterCommit();
    await forgetNodes(deps, ids);
  };

  return {
    async createNode(req, ctx) {
      const input = checkCreate(req);
      const userId = userOf(ctx.caller);
      await requireRole(deps, ctx, input.projectId, "editor");
      const row = await deps.db.transaction().execute(async (trx) => {
        if (input.parentId) await requireLiveNode(trx, input.projectId, input.parentId, "parentId");
        const values = { ...input.values, project_id: input.projectId, parent_id: input.parentId, created_by: userId };
        return withinProjectQuota(trx, input.projectId, quotas, () => createNodeTx(trx, values, "create", { userId }));
      });
      deps.afterCommit();
      return { node: nodeToProto(row) };
    },

    async getNode(req, ctx) {
      const row = await nodeForRole(deps, ctx, parseId("id", req.id), "viewer");
      return { node: nodeToProto(row) };
    },

    async getNodes(req, ctx) {
      const ids = checkIds(req.ids);
      const rows = await visibleNodes(deps.db, ids, userOf(ctx.caller));
      const byId = new Map(rows.map((r) => [r.id, r]));
      return { nodes: ids.flatMap((id) => (byId.has(id) ? [nodeToProto(byId.get(id)!)] : [])) };
    },

    async listNodes(req, ctx) {
      const filter = checkList(req);
      await requireRole(deps, ctx, filter.projectId, "viewer");
      const { rows, keep } = await listNodes(deps.db, filter);
      const { items, nextCursor } = pageOf(rows, keep);
      return { nodes: items.map(nodeToProto), nextCursor };
    },

    async listNodesJson(req, ctx) {
      const filter = checkList(req);
      await requireRole(deps, ctx, filter.projectId, "viewer");
      return listNodesJson(deps.db, filter);
    },

    async updateNode(req, ctx) {
      const { id, expectedVersion, patch } = checkUpdate(req);
      const userId = userOf(ctx.caller);
      const seen = await nodeForRole(deps, ctx, id, "editor");
      const row = await deps.db.transaction().execute(async (trx) => {
        const before = await lockNode(trx, id);
        if (expectedVersion !== undefined && expectedVersion !== before.version) {
          throw new AppError("VERSION_CONFLICT", `node is at version ${before.version}, not ${expectedVersion}`, { currentVersion: before.version });
        }
        const change = effectivePatch(before, patch);
        if (Object.keys(change).length === 0) return { node: before, changed: false };
        if (change.parent_id) {
          await requireLiveNode(trx, seen.project_id, change.parent_id, "parentId");
          if (await wouldCycle(trx, id, change.parent_id)) throw invalid("parentId", "would make the node its own ancestor");
        }
        const node = await withinProjectQuota(trx, before.project_id, quotas, () => changeNodeTx(trx, before, change, "edit", { userId }));
        return { node, changed: true };
      });
      if (row.changed) await commit([id]);
      return { node: nodeToProto(row.node) };
    },

    async deleteNode(req, ctx) {
      const id = parseId("id", req.id);
      // A hidden node can still be removed for good; hiding it twice is NOT_FOUND.
      await nodeForRole(deps, ctx, id, "editor", { withDeleted: req.permanent });
      const by = { userId: userOf(ctx.caller) };
      const touched = await deps.db.transaction().execute(async (trx) => {
        const before = await lockNode(trx, id, { withDeleted: req.permanent });
        return req.permanent ? removeNodeTx(trx, before, by) : hideNodeTx(trx, before, by);
      });
      await commit(touched);
      return {};
    },

    async restoreNode(req, ctx) {
      const id = parseId("id", req.id);
      await nodeForRole(deps, ctx, id, "editor", { withDeleted: true });
      const by = { userId: userOf(ctx.caller) };
      const result = await deps.db.transaction().execute(async (trx) => {
        const before = await lockNode(trx, id, { withDeleted: true });
        if (before.deleted_at === null) return undefined;
        return restoreNodeTx(trx, id, by);
      });
      if (!result) return { node: nodeToProto((await findNode(deps.db, id))!) };
      await commit([id]);
      return { node: nodeToProto(result) };
    },

    async listNodeVersions(req, ctx) {
      const nodeId = parseId("nodeId", req.nodeId);
      const page = parsePage(req.page, "page", "version");
      const before = page.after ? Number(page.after.id) : undefined;
      await nodeForRole(deps, ctx, nodeId, "viewer");
      const rows = await listVersions(deps.db, nodeId, page, before);
      const items = rows.slice(0, page.limit);
      const last = items[items.length - 1];
      const nextCursor = rows.length > page.limit ? encodeCursor({ at: last.created_at, id: String(last.version) }) : "";
      return { versions: items.map(versionToProto), nextCursor };
    },

    async rollbackNode(req, ctx) {
      const id = parseId("id", req.id);
      const version = checkVersion("version", req.version);
      const userId = userOf(ctx.caller);
      await nodeForRole(deps, ctx, id, "editor");
      const row = await deps.db.transaction().execute(async (trx) => {
        const before = await lockNode(trx, id);
        const old = await findVersion(trx, id, version);
        if (!old) throw notFound("version");
        const back = { title: old.title, content: old.content };
        return withinProjectQuota(trx, before.project_id, quotas, () => changeNodeTx(trx, before, back, "rollback", { userId }, { alwaysVersion: true }));
      });
      await commit([id]);
      return { node: nodeToProto(row) };
    },
  };
}

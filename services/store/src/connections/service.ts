import { invalid, notFound, type CallContext, type Implementation } from "@sker/kit";
import type { ConnectionServiceService } from "@sker/contracts/store/v1/connection";
import { requireRole, userOf } from "../authz.js";
import type { ConnectionRow, Role } from "../db/schema.js";
import type { StoreDeps } from "../deps.js";
import { liveNodesIn } from "../nodes/repo.js";
import { parseId } from "../input/ids.js";
import { pageOf } from "../input/page.js";
import { isUniqueViolation } from "../db/sql.js";
import { alreadyExists, createConnectionTx, deleteConnectionTx, updateConnectionTx } from "./changes.js";
import { listConnectionsJson } from "./json-page.js";
import { connectionToProto } from "./map.js";
import { findConnection, listConnections } from "./repo.js";
import { checkCreate, checkList, checkUpdate } from "./validate.js";

/** A visible connection and the caller's right to it; one of someone else's project is NOT_FOUND. */
async function connectionForRole(deps: StoreDeps, ctx: CallContext, id: string, min: Role): Promise<ConnectionRow> {
  const row = await findConnection(deps.db, id);
  if (!row) throw notFound("connection");
  await requireRole(deps, ctx, row.project_id, min, "connection");
  return row;
}

export function connectionService(deps: StoreDeps): Implementation<typeof ConnectionServiceService> {
  return {
    async createConnection(req, ctx) {
      const input = checkCreate(req);
      const userId = userOf(ctx.caller);
      await requireRole(deps, ctx, input.projectId, "editor");
      const row = await deps.db.transaction().execute(async (trx) => {
        // Both ends stay share-locked until commit, so neither can be hidden under the new link.
        const ends = await liveNodesIn(trx, input.projectId, [input.sourceNodeId, input.targetNodeId], { share: true });
        for (const field of ["sourceNodeId", "targetNodeId"] as const) {
          if (!ends.some((n) => n.id === input[field])) throw invalid(field, "must be a live node of the same project");
        }
        return createConnectionTx(trx, { ...input, createdBy: userId }, { userId });
      });
      deps.afterCommit();
      return { connection: connectionToProto(row) };
    },

    async getConnection(req, ctx) {
      return { connection: connectionToProto(await connectionForRole(deps, ctx, parseId("id", req.id), "viewer")) };
    },

    async listConnections(req, ctx) {
      const filter = checkList(req);
      await requireRole(deps, ctx, filter.projectId, "viewer");
      const { items, nextCursor } = pageOf(await listConnections(deps.db, filter), filter.page.limit);
      return { connections: items.map(connectionToProto), nextCursor };
    },

    async listConnectionsJson(req, ctx) {
      const filter = checkList(req);
      await requireRole(deps, ctx, filter.projectId, "viewer");
      return listConnectionsJson(deps.db, filter);
    },

    async updateConnection(req, ctx) {
      const { id, patch } = checkUpdate(req);
      await connectionForRole(deps, ctx, id, "editor");
      const row = await deps.db
        .transaction()
        .execute(async (trx) => {
          const before = await findConnection(trx, id, { lock: true });
          if (!before) throw notFound("connection");
          if (Object.keys(patch).length === 0) return undefined;
          return updateConnectionTx(trx, id, patch, { userId: userOf(ctx.caller) });
        })
        .catch((err: unknown) => {
          throw isUniqueViolation(err) ? alreadyExists(err) : err;
        });
      if (!row) return { connection: connectionToProto((await findConnection(deps.db, id))!) };
      deps.afterCommit();
      return { connection: connectionToProto(row) };
    },

    async deleteConnection(req, ctx) {
      const id = parseId("id", req.id);
      await connectionForRole(deps, ctx, id, "editor");
      await deps.db.transaction().execute(async (trx) => {
        const before = await findConnection(trx, id, { lock: true });
        if (!before) throw notFound("connection");
        await deleteConnectionTx(trx, before, { userId: userOf(ctx.caller) });
      });
      deps.afterCommit();
      return {};
    },
  };
}

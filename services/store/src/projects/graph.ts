import type { CallContext } from "@sker/kit";
import type { GetGraphRequest, GetGraphResponse } from "@sker/contracts/store/v1/project";
import { requireRole } from "../authz.js";
import { connectionToProto } from "../connections/map.js";
import { liveConnectionsOfProject } from "../connections/repo.js";
import type { StoreDeps } from "../deps.js";
import { liveNodesOfProject } from "../nodes/repo.js";
import { nodeToProto } from "../nodes/map.js";
import { parseId } from "../input/ids.js";

/** The whole canvas in one call: every live node and connection, in creation order. */
export function getGraph(deps: StoreDeps) {
  return async (req: GetGraphRequest, ctx: CallContext): Promise<GetGraphResponse> => {
    const projectId = parseId("projectId", req.projectId);
    await requireRole(deps, ctx, projectId, "viewer");
    // One snapshot, so a connection never points at a node the same answer lacks.
    const [nodes, connections] = await deps.db
      .transaction()
      .setIsolationLevel("repeatable read")
      .execute(async (trx) => [await liveNodesOfProject(trx, projectId), await liveConnectionsOfProject(trx, projectId)] as const);
    return { nodes: nodes.map(nodeToProto), connections: connections.map(connectionToProto) };
  };
}

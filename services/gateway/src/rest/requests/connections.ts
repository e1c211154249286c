import type { Static } from "typebox";
import type { ConnectionType, CreateConnectionRequest, ListConnectionsRequest, UpdateConnectionRequest } from "@sker/contracts/store/v1/connection";
import type * as schema from "../schemas/connections.js";
import { enumIn, page } from "./common.js";

// REST → proto for the connection routes (proto → REST is rest/map.ts).

const type = (t: string | undefined) => enumIn<ConnectionType>(t, "CONNECTION_TYPE_");

export const listConnections = (q: Static<typeof schema.listConnectionsQuery>): ListConnectionsRequest => ({ projectId: q.projectId, nodeId: q.nodeId ?? "", page: page(q) });

export const createConnection = (b: Static<typeof schema.createConnection>): CreateConnectionRequest => ({
  projectId: b.projectId,
  sourceNodeId: b.sourceNodeId,
  targetNodeId: b.targetNodeId,
  type: type(b.type),
  label: b.label ?? "",
  weight: b.weight,
});

export const updateConnection = (id: string, b: Static<typeof schema.updateConnection>): UpdateConnectionRequest => ({ id, type: type(b.type), label: b.label, weight: b.weight });

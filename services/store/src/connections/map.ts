import { toProtoEnum } from "@sker/kit";
import type { Connection, ConnectionType } from "@sker/contracts/store/v1/connection";
import type { ConnectionRow } from "../db/schema.js";

export const CONNECTION_TYPE = "CONNECTION_TYPE_";

export function connectionToProto(row: ConnectionRow): Connection {
  return {
    id: row.id,
    projectId: row.project_id,
    sourceNodeId: row.source_node_id,
    targetNodeId: row.target_node_id,
    type: toProtoEnum<ConnectionType>(row.type, CONNECTION_TYPE),
    label: row.label,
    weight: row.weight,
    createdBy: row.created_by ?? "",
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

import { Type } from "typebox";
import { ENUMS } from "@sker/contracts/enums";
import { LIMITS } from "@sker/contracts/limits";
import { closed, en, nstr, nullableEnumOut, open, opt, pageQuery, partial, str, time, unit, uuid } from "./common.js";

// Connections between two nodes of a project.

export const Connection = open({
  id: { type: "string" },
  projectId: { type: "string" },
  sourceNodeId: { type: "string" },
  targetNodeId: { type: "string" },
  type: nullableEnumOut(ENUMS.connectionType),
  label: { type: "string" },
  weight: { type: "number" },
  createdBy: nstr,
  createdAt: time,
  updatedAt: time,
});

const label = str(LIMITS.connection.label);

export const listConnectionsQuery = Type.Object({ projectId: uuid, nodeId: opt(uuid), ...pageQuery });
export const createConnection = closed({ projectId: uuid, sourceNodeId: uuid, targetNodeId: uuid, type: en(ENUMS.connectionType), label: opt(label), weight: opt(unit) });
export const updateConnection = partial({ type: en(ENUMS.connectionType), label, weight: unit });

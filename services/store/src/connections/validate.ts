import { invalid } from "@sker/kit";
import type { CreateConnectionRequest, ListConnectionsRequest, UpdateConnectionRequest } from "@sker/contracts/store/v1/connection";
import type { ConnectionType } from "../db/schema.js";
import { parseEnum, requireEnum } from "../input/enum.js";
import { optionalId, parseId } from "../input/ids.js";
import { parsePage, type Page } from "../input/page.js";
import { CONNECTION_TYPE } from "./map.js";

const LABEL_MAX = 200;

function label(value: string): string {
  if (value.length > LABEL_MAX) throw invalid("label", `must be at most ${LABEL_MAX} characters`);
  return value;
}

function weight(value: number): number {
  if (!Number.isFinite(value) || value < 0 || value > 1) throw invalid("weight", "must be between 0 and 1");
  return value;
}

export interface NewConnectionInput {
  projectId: string;
  sourceNodeId: string;
  targetNodeId: string;
  type: ConnectionType;
  label: string;
  weight: number;
}

export function checkCreate(req: CreateConnectionRequest): NewConnectionInput {
  const input = {
    projectId: parseId("projectId", req.projectId),
    sourceNodeId: parseId("sourceNodeId", req.sourceNodeId),
    targetNodeId: parseId("targetNodeId", req.targetNodeId),
    type: requireEnum<ConnectionType>("type", req.type, CONNECTION_TYPE),
    label: label(req.label),
    weight: req.weight === undefined ? 1 : weight(req.weight),
  };
  if (input.sourceNodeId === input.targetNodeId) throw invalid("targetNodeId", "must differ from sourceNodeId (no self-loops)");
  return input;
}

export interface ConnectionPatch {
  type?: ConnectionType;
  label?: string;
  weight?: number;
}

export function checkUpdate(req: UpdateConnectionRequest): { id: string; patch: ConnectionPatch } {
  const patch: ConnectionPatch = {};
  const type = parseEnum<ConnectionType>("type", req.type, CONNECTION_TYPE);
  if (type) patch.type = type;
  if (req.label !== undefined) patch.label = label(req.label);
  if (req.weight !== undefined) patch.weight = weight(req.weight);
  return { id: parseId("id", req.id), patch };
}

export interface ConnectionFilter {
  projectId: string;
  nodeId: string | null;
  page: Page;
}

export function checkList(req: ListConnectionsRequest): ConnectionFilter {
  return { projectId: parseId("projectId", req.projectId), nodeId: optionalId("nodeId", req.nodeId), page: parsePage(req.page) };
}

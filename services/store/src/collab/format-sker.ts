import { invalid } from "@sker/kit";
import { LIMITS } from "@sker/contracts/limits";
import { arr, CHANGE_TYPES, checkReferences, CONNECTION_TYPES, id, IMPORT_LIMITS, json, NODE_STATUSES, nodeText, num, obj, oneOf, str, type CanvasDoc, type CanvasNode } from "./model.js";

/**
 * The lossless format: every field of the project, its nodes (with their history when asked)
 * and connections. Ids in the file are the exporting store's; an import gives new ones.
 */
export const SKER_FORMAT = "sker";
export const SKER_VERSION = 1;

export function toSker(doc: CanvasDoc, exportedAt: Date): Record<string, unknown> {
  return { format: SKER_FORMAT, version: SKER_VERSION, exportedAt: exportedAt.toISOString(), project: doc.project, nodes: doc.nodes, connections: doc.connections };
}

export function fromSker(raw: unknown): CanvasDoc {
  const file = obj("document", raw);
  if (file.format !== SKER_FORMAT) throw invalid("format", `a sker file has "format": "${SKER_FORMAT}"`);
  if (file.version !== SKER_VERSION) throw invalid("version", `must be ${SKER_VERSION}`);
  const p = obj("project", file.project ?? {});
  const doc: CanvasDoc = {
    project: {
      name: str("project.name", p.name, LIMITS.project.name, "Imported canvas"),
      description: str("project.description", p.description, LIMITS.project.description, ""),
      canvasData: json("project.canvasData", p.canvasData, LIMITS.project.canvasDataBytes),
      settings: json("project.settings", p.settings, LIMITS.project.settingsBytes),
    },
    nodes: arr("nodes", file.nodes, IMPORT_LIMITS.nodes).map((v, i) => node(`nodes[${i}]`, v)),
    connections: arr("connections", file.connections, IMPORT_LIMITS.connections).map((v, i) => {
      const f = `connections[${i}]`;
      const c = obj(f, v);
      const weight = num(`${f}.weight`, c.weight, 1);
      if (weight < 0 || weight > 1) throw invalid(`${f}.weight`, "must be between 0 and 1");
      return {
        id: id(`${f}.id`, c.id),
        sourceNodeId: id(`${f}.sourceNodeId`, c.sourceNodeId),
        targetNodeId: id(`${f}.targetNodeId`, c.targetNodeId),
        type: oneOf(`${f}.type`, c.type, CONNECTION_TYPES, "related"),
        label: str(`${f}.label`, c.label, 200, ""),
        weight,
      };
    }),
  };
  checkReferences(doc, "nodes", "connections", ["sourceNodeId", "targetNodeId"]);
  return doc;
}

function node(f: string, v: unknown): CanvasNode {
  const n = obj(f, v);
  const pos = obj(`${f}.position`, n.position ?? { x: 0, y: 0 });
  const size = obj(`${f}.size`, n.size ?? { width: 240, height: 120 });
  const out: CanvasNode = {
    id: id(`${f}.id`, n.id),
    title: nodeText.title(`${f}.title`, n.title),
    content: nodeText.content(`${f}.content`, n.content),
    semanticType: str(`${f}.semanticType`, n.semanticType, 100, ""),
    importance: nodeText.importance(`${f}.importance`, n.importance),
    confidence: nodeText.confidence(`${f}.confidence`, n.confidence),
    status: oneOf(`${f}.status`, n.status, NODE_STATUSES, "idle"),
    tags: nodeText.tags(`${f}.tags`, n.tags),
    position: { x: num(`${f}.position.x`, pos.x), y: num(`${f}.position.y`, pos.y) },
    size: { width: positive(`${f}.size.width`, size.width), height: positive(`${f}.size.height`, size.height) },
    metadata: nodeText.metadata(`${f}.metadata`, n.metadata),
    parentId: n.parentId === null || n.parentId === undefined ? null : id(`${f}.parentId`, n.parentId),
    aiGenerated: n.aiGenerated === true,
  };
  if (n.versions !== undefined) {
    out.versions = arr(`${f}.versions`, n.versions, IMPORT_LIMITS.versionsPerNode).map((raw, j) => {
      const vf = `${f}.versions[${j}]`;
      const ver = obj(vf, raw);
      const number = num(`${vf}.version`, ver.version);
      if (!Number.isInteger(number) || number < 1) throw invalid(`${vf}.version`, "must be a positive integer");
      const createdAt = str(`${vf}.createdAt`, ver.createdAt, 40, new Date(0).toISOString());
      if (Number.isNaN(Date.parse(createdAt))) throw invalid(`${vf}.createdAt`, "must be an ISO 8601 time");
      return {
        version: number,
        title: nodeText.title(`${vf}.title`, ver.title),
        content: nodeText.content(`${vf}.content`, ver.content),
        changeType: oneOf(`${vf}.changeType`, ver.changeType, CHANGE_TYPES, "edit"),
        createdAt,
      };
    });
    const numbers = out.versions.map((x) => x.version);
    if (new Set(numbers).size !== numbers.length) throw invalid(`${f}.versions`, "repeats a version number");
    out.version = Math.max(num(`${f}.version`, n.version, 1), ...numbers);
  }
  return out;
}

function positive(f: string, v: unknown): number {
  const x = num(f, v);
  if (x <= 0) throw invalid(f, "must be a positive number");
  return x;
}

import { Type } from "typebox";
import { ENUMS } from "@sker/contracts/enums";
import { LIMITS } from "@sker/contracts/limits";
import { closed, en, enumOut, freeObject, jsonIn, nstr, nullableEnumOut, open, opt, orNull, pageQuery, partial, str, time, unit, uuid } from "./common.js";
import { Connection } from "./connections.js";
import { taskOptions, taskOptionsIn } from "./tasks.js";

// Nodes, their versions, and the graph (nodes with their connections).

const { node: N, task: T } = LIMITS;

const position = open({ x: { type: "number" }, y: { type: "number" } });
const size = open({ width: { type: "number" }, height: { type: "number" } });
const recipe = { type: ["object", "null"], properties: { type: enumOut(ENUMS.taskType), prompt: { type: "string" }, options: taskOptions } };

export const Node = open({
  id: { type: "string" },
  projectId: { type: "string" },
  title: { type: "string" },
  content: { type: "string" },
  semanticType: { type: "string" },
  importance: { type: "integer" },
  confidence: { type: "number" },
  status: enumOut(ENUMS.nodeStatus),
  tags: { type: "array", items: { type: "string" } },
  position,
  size,
  metadata: freeObject,
  parentId: nstr,
  version: { type: "integer" },
  aiGenerated: { type: "boolean" },
  createdBy: nstr,
  createdAt: time,
  updatedAt: time,
  deletedAt: time,
  recipe,
});

export const NodeVersion = open({
  nodeId: { type: "string" },
  version: { type: "integer" },
  title: { type: "string" },
  content: { type: "string" },
  changeType: nullableEnumOut(ENUMS.changeType),
  createdBy: nstr,
  taskId: nstr,
  runId: nstr,
  createdAt: time,
});

export const Graph = open({ nodes: { type: "array", items: Node }, connections: { type: "array", items: Connection } });

// ---- requests --------------------------------------------------------------------------

const positionIn = closed({ x: Type.Number(), y: Type.Number() });
const sizeIn = closed({ width: Type.Number({ minimum: 0 }), height: Type.Number({ minimum: 0 }) });
const tagsIn = Type.Array(str(N.tagLength, 1), { maxItems: N.tags });
const importanceIn = Type.Integer({ minimum: N.importanceMin, maximum: N.importanceMax });
const parentIn = orNull(uuid);
export const recipeIn = closed({ type: en(ENUMS.taskType), prompt: opt(str(T.prompt)), options: opt(taskOptionsIn) });

/** The fields a node is written with (create and update alike). */
const fields = {
  title: str(N.title),
  content: str(N.content),
  semanticType: str(N.semanticType),
  importance: importanceIn,
  confidence: unit,
  status: en(ENUMS.nodeStatus),
  tags: tagsIn,
  position: positionIn,
  size: sizeIn,
  metadata: jsonIn(N.metadataBytes),
  parentId: parentIn,
};

export const createNode = closed({ projectId: uuid, ...Type.Partial(Type.Object({ ...fields, recipe: recipeIn })).properties });
export const updateNode = partial({ ...fields, recipe: orNull(recipeIn, { description: "null removes the recipe" }) });
export const rollback = closed({ version: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) });

export const listNodesQuery = Type.Object({
  projectId: uuid,
  status: opt(en(ENUMS.nodeStatus)),
  tag: opt(Type.String({ maxLength: N.tagLength })),
  q: opt(Type.String({ maxLength: N.query })),
  ...pageQuery,
});
export const deleteQuery = Type.Object({ permanent: opt(Type.Boolean({ default: false })) });
export const ifMatchHeaders = Type.Object({ "if-match": opt(Type.String({ maxLength: 64 })) });

// JSON schemas of the REST contract (docs/api.md). Request bodies are closed
// (additionalProperties: false): an unknown field is a 400 naming it. Responses are the shapes
// rest/map.ts produces; fast-json-stringify serializes them and @fastify/swagger publishes them.

import { ENUMS } from "@sker/contracts/enums";
import { EMAIL_PATTERN, JSON_DEPTH, LIMITS, USERNAME_PATTERN, UUID_PATTERN } from "@sker/contracts/limits";

export { ENUMS };
type S = Record<string, unknown>;

export const uuid = { type: "string", format: "uuid", pattern: UUID_PATTERN } as const;
const str = (maxLength: number, minLength = 0) => ({ type: "string", minLength, maxLength });
const nstr = { type: ["string", "null"] } as const;
const time = { type: ["string", "null"], format: "date-time" } as const;
const freeObject = { type: "object", additionalProperties: true } as const;
const closed = (properties: S, required: string[] = []) => ({ type: "object", additionalProperties: false, properties, required });
const open = (properties: S) => ({ type: "object", properties });

const en = (values: readonly string[]) => ({ type: "string", enum: [...values] });
const nen = (values: readonly string[]) => ({ type: ["string", "null"], enum: [...values, null] });

// ---- envelopes -------------------------------------------------------------------------

export const ok = (data: S) => ({ type: "object", properties: { success: { type: "boolean" }, data } });
export const listOf = (item: S) =>
  ok({ type: "object", properties: { items: { type: "array", items: item }, nextCursor: nstr } });
export const errorEnvelope = {
  type: "object",
  properties: {
    success: { type: "boolean" },
    error: {
      type: "object",
      properties: { code: { type: "string" }, message: { type: "string" }, details: freeObject },
    },
    requestId: { type: "string" },
  },
};
export const noContent = { type: "null", description: "No content" };

// ---- resources -------------------------------------------------------------------------

export const User = open({
  id: { type: "string" },
  email: { type: "string" },
  username: { type: "string" },
  displayName: { type: "string" },
  avatarUrl: { type: "string" },
  settings: freeObject,
  createdAt: time,
  updatedAt: time,
  role: { type: "string", enum: ["user", "admin"] },
  emailVerified: { type: "boolean" },
});

export const AuthSession = open({
  user: User,
  accessToken: { type: "string" },
  refreshToken: { type: "string" },
  expiresIn: { type: "integer" },
  tokenType: { type: "string" },
});

export const ApiKey = open({
  id: { type: "string" },
  name: { type: "string" },
  key: { type: "string", description: "Only in the answer to the create: stored hashed" },
  prefix: { type: "string" },
  createdAt: time,
  lastUsedAt: time,
});

export const Project = open({
  id: { type: "string" },
  name: { type: "string" },
  description: { type: "string" },
  status: en(ENUMS.projectStatus),
  canvasData: freeObject,
  settings: freeObject,
  role: nen(ENUMS.role),
  ownerId: { type: "string" },
  createdAt: time,
  updatedAt: time,
});

export const Member = open({
  projectId: { type: "string" },
  userId: { type: "string" },
  username: { type: "string" },
  email: { type: "string", description: "Shown to the project's owners only" },
  role: nen(ENUMS.role),
  joinedAt: time,
  createdAt: time,
});

const position = open({ x: { type: "number" }, y: { type: "number" } });
const size = open({ width: { type: "number" }, height: { type: "number" } });
const taskOptions = open({ model: { type: "string" }, temperature: { type: "number" }, maxTokens: { type: "integer" } });
const recipe = { type: ["object", "null"], properties: { type: en(ENUMS.taskType), prompt: { type: "string" }, options: taskOptions } };

export const Node = open({
  id: { type: "string" },
  projectId: { type: "string" },
  title: { type: "string" },
  content: { type: "string" },
  semanticType: { type: "string" },
  importance: { type: "integer" },
  confidence: { type: "number" },
  status: en(ENUMS.nodeStatus),
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
  changeType: nen(ENUMS.changeType),
  createdBy: nstr,
  taskId: nstr,
  runId: nstr,
  createdAt: time,
});

export const Connection = open({
  id: { type: "string" },
  projectId: { type: "string" },
  sourceNodeId: { type: "string" },
  targetNodeId: { type: "string" },
  type: nen(ENUMS.connectionType),
  label: { type: "string" },
  weight: { type: "number" },
  createdBy: nstr,
  createdAt: time,
  updatedAt: time,
});

export const Task = open({
  id: { type: "string" },
  projectId: { type: "string" },
  type: nen(ENUMS.taskType),
  status: nen(ENUMS.taskStatus),
  priority: en(ENUMS.priority),
  nodeId: nstr,
  resultNodeId: nstr,
  sourceNodeIds: { type: "array", items: { type: "string" } },
  prompt: { type: "string" },
  options: taskOptions,
  attempts: { type: "integer" },
  result: { type: ["object", "null"], additionalProperties: true },
  error: { type: ["object", "null"], properties: { code: { type: "string" }, message: { type: "string" } } },
  usage: { type: ["object", "null"], properties: { inputTokens: { type: "integer" }, outputTokens: { type: "integer" }, costUsd: { type: "number" } } },
  provider: { type: "string" },
  model: { type: "string" },
  calls: {
    type: "array",
    description: "Every provider call of the task in order: the model alias asked, the provider and its model id, tokens, cost, and how it ended (ok, an error code, CIRCUIT_OPEN)",
    items: open({
      alias: { type: "string" },
      provider: { type: "string" },
      model: { type: "string" },
      inputTokens: { type: "integer" },
      outputTokens: { type: "integer" },
      costUsd: { type: "number" },
      outcome: { type: "string" },
      message: { type: "string" },
      durationMs: { type: "integer" },
      at: time,
    }),
  },
  createdBy: { type: "string" },
  createdAt: time,
  startedAt: time,
  completedAt: time,
  retryOf: nstr,
  runId: nstr,
});

const taskError = { type: ["object", "null"], properties: { code: { type: "string" }, message: { type: "string" } } };

export const Run = open({
  id: { type: "string" },
  projectId: { type: "string" },
  status: en(ENUMS.runStatus),
  targets: { type: "array", items: { type: "string" } },
  force: { type: "boolean" },
  nodes: {
    type: "array",
    items: open({ nodeId: { type: "string" }, state: en(ENUMS.runNodeState), taskId: nstr, error: taskError, dependsOn: { type: "array", items: { type: "string" } } }),
  },
  createdBy: { type: "string" },
  createdAt: time,
  finishedAt: time,
});

export const Graph = open({ nodes: { type: "array", items: Node }, connections: { type: "array", items: Connection } });

// ---- request parts ---------------------------------------------------------------------

export const idParams = closed({ id: uuid }, ["id"]);
export const pageQuery = {
  limit: { type: "integer", minimum: 1, maximum: LIMITS.page.max, default: LIMITS.page.default },
  cursor: str(LIMITS.page.cursor, 1),
};

const positionIn = closed({ x: { type: "number" }, y: { type: "number" } }, ["x", "y"]);
const sizeIn = closed({ width: { type: "number", minimum: 0 }, height: { type: "number", minimum: 0 } }, ["width", "height"]);
const tagsIn = { type: "array", maxItems: LIMITS.node.tags, items: str(LIMITS.node.tagLength, 1) };
/** A free JSON object within the contract's depth and byte limits (enforced by rest/ajv.ts). */
const jsonIn = (maxBytes: number) => ({ type: "object", additionalProperties: true, "x-maxDepth": JSON_DEPTH, "x-maxBytes": maxBytes });
const { user: U, project: P, node: N, task: T } = LIMITS;
const importanceIn = { type: "integer", minimum: N.importanceMin, maximum: N.importanceMax };
const unit = { type: "number", minimum: 0, maximum: 1 };
const parentIn = { type: ["string", "null"], format: "uuid", pattern: UUID_PATTERN };
const taskOptionsIn = closed({
  model: str(T.model),
  temperature: { type: "number", minimum: 0, maximum: T.temperatureMax },
  maxTokens: { type: "integer", minimum: 1, maximum: T.maxTokens },
});
const recipeIn = closed({ type: en(ENUMS.taskType), prompt: str(T.prompt), options: taskOptionsIn }, ["type"]);

export const bodies = {
  register: closed(
    {
      email: { type: "string", pattern: EMAIL_PATTERN, maxLength: U.email },
      username: { type: "string", pattern: USERNAME_PATTERN },
      password: str(U.passwordMax, U.passwordMin),
      displayName: str(U.displayName),
      invitationToken: { type: "string", minLength: 1, maxLength: 200, description: "The token of an invitation mailed to this email: its project is joined at once" },
    },
    ["email", "username", "password"],
  ),
  login: closed({ email: str(U.login, 1), username: str(U.login, 1), password: str(U.passwordMax, 1) }, ["password"]),
  refreshToken: closed({ refreshToken: str(U.refreshToken, 1) }, ["refreshToken"]),
  updateMe: closed({ displayName: str(U.displayName), avatarUrl: str(U.avatarUrl), settings: jsonIn(U.settingsBytes) }),
  createApiKey: closed({ name: str(LIMITS.apiKey.name, 1) }, ["name"]),
  createProject: closed(
    { name: str(P.name, 1), description: str(P.description), canvasData: jsonIn(P.canvasDataBytes), settings: jsonIn(P.settingsBytes) },
    ["name"],
  ),
  updateProject: closed({
    name: str(P.name, 1),
    description: str(P.description),
    status: en(ENUMS.projectStatus),
    canvasData: jsonIn(P.canvasDataBytes),
    settings: jsonIn(P.settingsBytes),
  }),
  putMember: closed({ role: en(ENUMS.role) }, ["role"]),
  createNode: closed(
    {
      projectId: uuid,
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
      recipe: recipeIn,
    },
    ["projectId"],
  ),
  updateNode: closed({
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
    recipe: { ...recipeIn, type: ["object", "null"], description: "null removes the recipe" },
  }),
  rollback: closed({ version: { type: "integer", minimum: 1, maximum: 2_147_483_647 } }, ["version"]),
  createConnection: closed(
    {
      projectId: uuid,
      sourceNodeId: uuid,
      targetNodeId: uuid,
      type: en(ENUMS.connectionType),
      label: str(LIMITS.connection.label),
      weight: unit,
    },
    ["projectId", "sourceNodeId", "targetNodeId", "type"],
  ),
  updateConnection: closed({
    type: en(ENUMS.connectionType),
    label: str(LIMITS.connection.label),
    weight: unit,
  }),
  submitTask: closed(
    {
      projectId: uuid,
      type: en(ENUMS.taskType),
      nodeId: uuid,
      sourceNodeIds: { type: "array", maxItems: T.sourceNodeIds, uniqueItems: true, items: uuid },
      prompt: str(T.prompt),
      options: taskOptionsIn,
      priority: en(ENUMS.priority),
    },
    ["projectId", "type"],
  ),
  startRun: closed({ targets: { type: "array", maxItems: LIMITS.run.targets, uniqueItems: true, items: uuid }, force: { type: "boolean" } }),
};

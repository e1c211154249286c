// JSON schemas of the REST contract (DESIGN §3). Request bodies are closed
// (additionalProperties: false): an unknown field is a 400 naming it. Responses are the shapes
// rest/map.ts produces; fast-json-stringify serializes them and @fastify/swagger publishes them.

type S = Record<string, unknown>;

export const uuid = { type: "string", format: "uuid" } as const;
const str = (maxLength: number, minLength = 0) => ({ type: "string", minLength, maxLength });
const nstr = { type: ["string", "null"] } as const;
const time = { type: ["string", "null"], format: "date-time" } as const;
const freeObject = { type: "object", additionalProperties: true } as const;
const closed = (properties: S, required: string[] = []) => ({ type: "object", additionalProperties: false, properties, required });
const open = (properties: S) => ({ type: "object", properties });

export const ENUMS = {
  projectStatus: ["active", "archived"],
  role: ["owner", "editor", "viewer"],
  nodeStatus: ["idle", "processing", "completed", "error"],
  changeType: ["create", "edit", "ai_generate", "ai_optimize", "ai_expand", "ai_fusion", "ai_analyze", "rollback"],
  connectionType: ["related", "dependency", "reference", "expand", "fusion", "input", "output", "bidirectional"],
  taskType: ["generate", "optimize", "expand", "fusion", "analyze"],
  taskStatus: ["queued", "running", "completed", "failed", "cancelled"],
  priority: ["low", "normal", "high", "urgent"],
} as const;

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
  email: { type: "string" },
  role: nen(ENUMS.role),
  createdAt: time,
});

const position = open({ x: { type: "number" }, y: { type: "number" } });
const size = open({ width: { type: "number" }, height: { type: "number" } });

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
  createdBy: { type: "string" },
  createdAt: time,
  updatedAt: time,
  deletedAt: time,
});

export const NodeVersion = open({
  nodeId: { type: "string" },
  version: { type: "integer" },
  title: { type: "string" },
  content: { type: "string" },
  changeType: nen(ENUMS.changeType),
  createdBy: { type: "string" },
  taskId: nstr,
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
  createdBy: { type: "string" },
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
  options: open({ model: { type: "string" }, temperature: { type: "number" }, maxTokens: { type: "integer" } }),
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
});

export const Graph = open({ nodes: { type: "array", items: Node }, connections: { type: "array", items: Connection } });

// ---- request parts ---------------------------------------------------------------------

export const idParams = closed({ id: uuid }, ["id"]);
export const pageQuery = {
  limit: { type: "integer", minimum: 1, maximum: 500, default: 100 },
  cursor: str(1000, 1),
};

const positionIn = closed({ x: { type: "number" }, y: { type: "number" } }, ["x", "y"]);
const sizeIn = closed({ width: { type: "number", minimum: 0 }, height: { type: "number", minimum: 0 } }, ["width", "height"]);
const tagsIn = { type: "array", maxItems: 50, items: str(64, 1) };
const settingsIn = { type: "object", additionalProperties: true, maxProperties: 200 };

export const bodies = {
  register: closed(
    {
      email: { type: "string", format: "email", maxLength: 254 },
      username: { type: "string", pattern: "^[a-zA-Z0-9_-]{3,32}$" },
      password: str(256, 8),
      displayName: str(100),
    },
    ["email", "username", "password"],
  ),
  login: closed({ email: str(254, 1), username: str(64, 1), password: str(256, 1) }, ["password"]),
  refreshToken: closed({ refreshToken: str(1024, 1) }, ["refreshToken"]),
  updateMe: closed({ displayName: str(100), avatarUrl: str(2048), settings: settingsIn }),
  createApiKey: closed({ name: str(100, 1) }, ["name"]),
  createProject: closed(
    { name: str(200, 1), description: str(10_000), canvasData: settingsIn, settings: settingsIn },
    ["name"],
  ),
  updateProject: closed({
    name: str(200, 1),
    description: str(10_000),
    status: en(ENUMS.projectStatus),
    canvasData: settingsIn,
    settings: settingsIn,
  }),
  putMember: closed({ role: en(ENUMS.role) }, ["role"]),
  createNode: closed(
    {
      projectId: uuid,
      title: str(500),
      content: str(100_000),
      semanticType: str(100),
      importance: { type: "integer", minimum: 1, maximum: 5 },
      confidence: { type: "number", minimum: 0, maximum: 1 },
      status: en(ENUMS.nodeStatus),
      tags: tagsIn,
      position: positionIn,
      size: sizeIn,
      metadata: settingsIn,
      parentId: { type: ["string", "null"], format: "uuid" },
    },
    ["projectId"],
  ),
  updateNode: closed({
    title: str(500),
    content: str(100_000),
    semanticType: str(100),
    importance: { type: "integer", minimum: 1, maximum: 5 },
    confidence: { type: "number", minimum: 0, maximum: 1 },
    status: en(ENUMS.nodeStatus),
    tags: tagsIn,
    position: positionIn,
    size: sizeIn,
    metadata: settingsIn,
    parentId: { type: ["string", "null"], format: "uuid" },
  }),
  rollback: closed({ version: { type: "integer", minimum: 1, maximum: 2_147_483_647 } }, ["version"]),
  createConnection: closed(
    {
      projectId: uuid,
      sourceNodeId: uuid,
      targetNodeId: uuid,
      type: en(ENUMS.connectionType),
      label: str(200),
      weight: { type: "number", minimum: 0, maximum: 1 },
    },
    ["projectId", "sourceNodeId", "targetNodeId", "type"],
  ),
  updateConnection: closed({
    type: en(ENUMS.connectionType),
    label: str(200),
    weight: { type: "number", minimum: 0, maximum: 1 },
  }),
  submitTask: closed(
    {
      projectId: uuid,
      type: en(ENUMS.taskType),
      nodeId: uuid,
      sourceNodeIds: { type: "array", maxItems: 50, uniqueItems: true, items: uuid },
      prompt: str(20_000),
      options: closed({
        model: str(100),
        temperature: { type: "number", minimum: 0, maximum: 2 },
        maxTokens: { type: "integer", minimum: 1, maximum: 200_000 },
      }),
      priority: en(ENUMS.priority),
    },
    ["projectId", "type"],
  ),
};

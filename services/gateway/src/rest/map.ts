import { fromProtoEnum } from "@sker/kit";
import type { Role } from "@sker/contracts/common/v1/common";
import type { User, ApiKey } from "@sker/contracts/store/v1/user";
import type { Project, Member, Invitation } from "@sker/contracts/store/v1/project";
import type { Node, NodeVersion, Recipe } from "@sker/contracts/store/v1/node";
import type { Run, RunNode } from "@sker/contracts/store/v1/run";
import type { Connection } from "@sker/contracts/store/v1/connection";
import type { Task } from "@sker/contracts/store/v1/task";

// Protobuf messages → the REST JSON of docs/api.md: camelCase (ts-proto already is), lowercase
// enum values, null for an absent id or time. One function per resource, used by routes and the
// WebSocket alike (rest/event.ts renders events with these). The other way (REST → proto
// requests) is rest/requests/.

const iso = (d: Date | undefined) => (d ? d.toISOString() : null);
const orNull = (s: string | undefined) => (s ? s : null);
const obj = (o: { [k: string]: unknown } | undefined) => o ?? {};

export const role = (r: Role | undefined) => fromProtoEnum(r, "ROLE_") ?? null;

export function user(u: User | undefined) {
  if (!u) return null;
  return {
    id: u.id,
    email: u.email,
    username: u.username,
    displayName: u.displayName,
    avatarUrl: u.avatarUrl,
    settings: obj(u.settings),
    createdAt: iso(u.createdAt),
    updatedAt: iso(u.updatedAt),
    role: fromProtoEnum(u.role, "USER_ROLE_") ?? "user",
    emailVerified: u.emailVerified,
  };
}

/** A user as admins see them: account state and last login. */
export function adminUser(u: User) {
  return {
    id: u.id,
    email: u.email,
    username: u.username,
    displayName: u.displayName,
    role: fromProtoEnum(u.role, "USER_ROLE_") ?? "user",
    disabled: u.disabled,
    emailVerified: u.emailVerified,
    lastLoginAt: iso(u.lastLoginAt),
    createdAt: iso(u.createdAt),
  };
}

export function invitation(i: Invitation | undefined) {
  return {
    id: i?.id ?? "",
    projectId: i?.projectId ?? "",
    email: i?.email ?? "",
    role: role(i?.role),
    invitedBy: orNull(i?.invitedBy),
    createdAt: iso(i?.createdAt),
    expiresAt: iso(i?.expiresAt),
    ...(i?.token ? { token: i.token, link: i.link } : {}),
  };
}

export function apiKey(k: ApiKey | undefined) {
  return {
    id: k?.id ?? "",
    name: k?.name ?? "",
    ...(k?.key ? { key: k.key } : {}),
    prefix: k?.prefix ?? "",
    createdAt: iso(k?.createdAt),
    lastUsedAt: iso(k?.lastUsedAt),
  };
}

export function project(p: Project | undefined) {
  if (!p) return null;
  return {
    id: p.id,
    name: p.name,
    description: p.description,
    status: fromProtoEnum(p.status, "PROJECT_STATUS_") ?? "active",
    canvasData: obj(p.canvasData),
    settings: obj(p.settings),
    role: role(p.role),
    ownerId: p.ownerId,
    createdAt: iso(p.createdAt),
    updatedAt: iso(p.updatedAt),
  };
}

export function member(m: Member | undefined) {
  return {
    projectId: m?.projectId ?? "",
    userId: m?.userId ?? "",
    username: m?.username ?? "",
    ...(m?.email ? { email: m.email } : {}),
    role: role(m?.role),
    joinedAt: iso(m?.createdAt),
    createdAt: iso(m?.createdAt),
  };
}

export function node(n: Node | undefined) {
  if (!n) return null;
  return {
    id: n.id,
    projectId: n.projectId,
    title: n.title,
    content: n.content,
    semanticType: n.semanticType,
    importance: n.importance,
    confidence: n.confidence,
    status: fromProtoEnum(n.status, "NODE_STATUS_") ?? "idle",
    tags: n.tags,
    position: n.position ?? { x: 0, y: 0 },
    size: n.size ?? { width: 0, height: 0 },
    metadata: obj(n.metadata),
    parentId: orNull(n.parentId),
    version: n.version,
    aiGenerated: n.aiGenerated,
    createdBy: orNull(n.createdBy),
    createdAt: iso(n.createdAt),
    updatedAt: iso(n.updatedAt),
    deletedAt: iso(n.deletedAt),
    recipe: recipe(n.recipe),
  };
}

export function recipe(r: Recipe | undefined) {
  if (!r) return null;
  return {
    type: r.type,
    ...(r.prompt ? { prompt: r.prompt } : {}),
    options: {
      ...(r.model ? { model: r.model } : {}),
      ...(r.temperature !== undefined ? { temperature: r.temperature } : {}),
      ...(r.maxTokens !== undefined ? { maxTokens: r.maxTokens } : {}),
    },
  };
}

export function run(r: Run | undefined) {
  if (!r) return null;
  return {
    id: r.id,
    projectId: r.projectId,
    status: fromProtoEnum(r.status, "RUN_STATUS_") ?? null,
    targets: r.targets,
    force: r.force,
    nodes: r.nodes.map(runNode),
    createdBy: r.createdBy,
    createdAt: iso(r.createdAt),
    finishedAt: iso(r.finishedAt),
  };
}

export function runNode(n: RunNode | undefined) {
  return {
    nodeId: n?.nodeId ?? "",
    state: fromProtoEnum(n?.state, "RUN_NODE_STATE_") ?? null,
    taskId: orNull(n?.taskId),
    error: n?.error && n.error.code ? { code: n.error.code, message: n.error.message } : null,
    dependsOn: n?.dependsOn ?? [],
  };
}

export function nodeVersion(v: NodeVersion) {
  return {
    nodeId: v.nodeId,
    version: v.version,
    title: v.title,
    content: v.content,
    changeType: fromProtoEnum(v.changeType, "CHANGE_TYPE_") ?? null,
    createdBy: orNull(v.createdBy),
    taskId: orNull(v.taskId),
    runId: orNull(v.runId),
    createdAt: iso(v.createdAt),
  };
}

export function connection(c: Connection | undefined) {
  if (!c) return null;
  return {
    id: c.id,
    projectId: c.projectId,
    sourceNodeId: c.sourceNodeId,
    targetNodeId: c.targetNodeId,
    type: fromProtoEnum(c.type, "CONNECTION_TYPE_") ?? null,
    label: c.label,
    weight: c.weight,
    createdBy: orNull(c.createdBy),
    createdAt: iso(c.createdAt),
    updatedAt: iso(c.updatedAt),
  };
}

export function task(t: Task | undefined) {
  if (!t) return null;
  return {
    id: t.id,
    projectId: t.projectId,
    type: fromProtoEnum(t.type, "TASK_TYPE_") ?? null,
    status: fromProtoEnum(t.status, "TASK_STATUS_") ?? null,
    priority: fromProtoEnum(t.priority, "TASK_PRIORITY_") ?? "normal",
    nodeId: orNull(t.nodeId),
    resultNodeId: orNull(t.resultNodeId),
    sourceNodeIds: t.sourceNodeIds,
    prompt: t.prompt,
    options: {
      model: t.options?.model ?? "",
      ...(t.options?.temperature !== undefined ? { temperature: t.options.temperature } : {}),
      ...(t.options?.maxTokens !== undefined ? { maxTokens: t.options.maxTokens } : {}),
    },
    attempts: t.attempts,
    result: t.result ?? null,
    error: t.error && (t.error.code || t.error.message) ? { code: t.error.code, message: t.error.message } : null,
    usage: t.usage ? { inputTokens: t.usage.inputTokens, outputTokens: t.usage.outputTokens, costUsd: t.usage.costUsd } : null,
    provider: t.provider,
    model: t.model,
    calls: t.calls.map((c) => ({ ...c, at: iso(c.at) })),
    createdBy: t.createdBy,
    createdAt: iso(t.createdAt),
    startedAt: iso(t.startedAt),
    completedAt: iso(t.completedAt),
    retryOf: orNull(t.retryOf),
    runId: orNull(t.runId),
  };
}

/** A list page: `nextCursor` is null on the last page. */
export const page = <T>(items: T[], nextCursor: string | undefined) => ({ items, nextCursor: nextCursor ? nextCursor : null });

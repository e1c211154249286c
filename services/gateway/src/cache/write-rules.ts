import type { FastifyRequest } from "fastify";
import { scope } from "./invalidations.js";

type Req = FastifyRequest & { params: Record<string, string | undefined>; body: Record<string, unknown> | undefined };
type Rule = (req: Req) => (string | undefined)[];

const param = (name: string) => (req: Req) => req.params?.[name];
const node: Rule = (req) => [scope.node(param("id")(req) ?? ""), scope.localWrites];
const graphs: Rule = () => [scope.localWrites];
const project: Rule = (req) => [scope.project(param("id")(req) ?? "")];
const self: Rule = (req) => [req.user ? scope.user(req.user.userId) : scope.accounts];
const disabled: Rule = (req) => [scope.user(param("id")(req) ?? "")];
const ids = (v: unknown) => (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === "string").map(scope.node);

/**
 * Writes this gateway answers, and what of the cache each one touches (read-your-writes: the
 * next read on this gateway must not answer what the write replaced). Keyed by method and route
 * pattern. Writes elsewhere (other replicas, AI workers) reach the cache as events.
 */
const RULES: Record<string, Rule> = {
  "POST /api/v1/nodes": graphs,
  "PATCH /api/v1/nodes/:id": node,
  "DELETE /api/v1/nodes/:id": node,
  "POST /api/v1/nodes/:id/restore": node,
  "POST /api/v1/nodes/:id/rollback": node,
  // The task's node(s) may change status at once; their results come as node.updated events.
  "POST /api/v1/ai-tasks": (req) => [...ids(req.body?.nodeId), ...ids(req.body?.sourceNodeIds), scope.localWrites],
  "POST /api/v1/connections": graphs,
  "PATCH /api/v1/connections/:id": graphs,
  "DELETE /api/v1/connections/:id": graphs,
  "POST /api/v1/projects/:id/runs": project,
  "PATCH /api/v1/projects/:id": project,
  "DELETE /api/v1/projects/:id": project,
  "PUT /api/v1/projects/:id/members/:userId": (req) => [scope.members(param("id")(req) ?? "")],
  "DELETE /api/v1/projects/:id/members/:userId": (req) => [scope.members(param("id")(req) ?? "")],
  "DELETE /api/v1/users/me": self,
  "POST /api/v1/users/me/password": self,
  "DELETE /api/v1/api-keys/:id": self,
  // The token being logged out (or the reset account) is not known here without verifying it: every credential.
  "POST /api/v1/auth/logout": () => [scope.accounts],
  "POST /api/v1/auth/password-reset/confirm": () => [scope.accounts],
  "POST /api/system/users/:id/disable": disabled,
  "POST /api/v1/system/users/:id/disable": disabled,
};

/** The scopes a write request invalidates (none for reads and for writes that touch no cached read). */
export function writeScopes(req: FastifyRequest): string[] {
  if (req.method === "GET" || req.method === "HEAD" || req.method === "OPTIONS") return [];
  const rule = RULES[`${req.method} ${req.routeOptions.url ?? ""}`];
  return rule ? rule(req as Req).filter((s): s is string => s !== undefined) : [];
}

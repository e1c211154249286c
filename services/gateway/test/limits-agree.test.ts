// One home for limits: for every limit in @sker/contracts/limits, a value at the limit is
// accepted and one past it refused — by the published OpenAPI document, by the REST gateway,
// by the store over gRPC and (for tasks) by the broker over gRPC. Any two places that disagree
// fail here, whatever the value in limits.ts is.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LIMITS } from "@sker/contracts/limits";
import { ENUMS } from "@sker/contracts/enums";
import { createAjv } from "../src/rest/ajv.js";
import { startStack, type Stack } from "@sker/testkit/stack";
import { client, register, type Req } from "@sker/testkit/http";
import { directClients, type Direct } from "./support/grpc.js";

let stack: Stack;
let req: Req;
let direct: Direct;
let token: string;
let openapi: any;
let projectId: string;
const nodeIds: string[] = [];

beforeAll(async () => {
  // A task names a model alias of the models file: one as long as the limit allows must exist.
  const models = join(mkdtempSync(join(tmpdir(), "sker-limits-")), "models.json");
  const alias = (name: string) => ({ alias: name, provider: "local", model: "local-deterministic-1", contextWindow: 8000 });
  writeFileSync(models, JSON.stringify({ default: "local", providers: { local: { type: "local" } }, models: [alias("local"), alias("x".repeat(LIMITS.task.model))] }));
  stack = await startStack({ env: { AI_MODELS_FILE: models } });
  req = client(stack.url);
  direct = directClients(stack);
  token = (await register(req, "lim")).accessToken;
  openapi = (await req("GET", "/api/docs/json")).body;
  projectId = (await direct.projects.createProject({ name: "limits" }, { token })).project!.id;
  for (let i = 0; i <= LIMITS.task.sourceNodeIds; i++) nodeIds.push((await direct.nodes.createNode({ projectId, title: `n${i}` }, { token })).node!.id);
}, 120_000);
afterAll(async () => stack?.close());

type Where = { in: "body" } | { in: "query" | "header"; name: string };
interface Case {
  name: string;
  limit: number;
  /** "max": limit ok, limit+1 refused; "min": limit ok, limit-1 refused. */
  kind: "max" | "min";
  make: (n: number) => unknown;
  rest: { method: string; path: string; at: Where; request: (v: unknown) => unknown };
  field: string;
  /** The same value straight to the store or broker; resolves when accepted. */
  grpc: ((v: unknown) => Promise<unknown>)[];
}

const chars = (n: number) => "x".repeat(n);
const tagList = (n: number) => Array.from({ length: n }, (_, i) => `t${i}`);
const email = (n: number) => `${"a".repeat(n - "@example.com".length - 4)}${Math.random().toString(36).slice(2, 6)}@example.com`;
const url = (n: number) => `https://example.com/${"p".repeat(n - "https://example.com/".length)}`;
const opts = () => ({ token });
const gw = async () => ({ token: await direct.serviceToken("gateway") });
const generate = (extra: Record<string, unknown>) => ({ projectId, type: "TASK_TYPE_GENERATE", prompt: "p", ...extra });
// CreateTask is broker-only: the store sees it relayed (broker's token + the user's).
const storeTask = async (extra: Record<string, unknown>) => direct.tasks.createTask(generate(extra), { token: await direct.serviceToken("broker"), onBehalfOf: token });

const body = { in: "body" } as const;
const cases: Case[] = [
  { name: "project name", limit: LIMITS.project.name, kind: "max", make: chars, field: "name", rest: { method: "post", path: "/api/v1/projects", at: body, request: (v) => ({ name: v }) }, grpc: [(v) => direct.projects.createProject({ name: v }, opts())] },
  { name: "project description", limit: LIMITS.project.description, kind: "max", make: chars, field: "description", rest: { method: "post", path: "/api/v1/projects", at: body, request: (v) => ({ name: "p", description: v }) }, grpc: [(v) => direct.projects.createProject({ name: "p", description: v }, opts())] },
  { name: "node title", limit: LIMITS.node.title, kind: "max", make: chars, field: "title", rest: { method: "post", path: "/api/v1/nodes", at: body, request: (v) => ({ projectId, title: v }) }, grpc: [(v) => direct.nodes.createNode({ projectId, title: v }, opts())] },
  { name: "node content", limit: LIMITS.node.content, kind: "max", make: chars, field: "content", rest: { method: "post", path: "/api/v1/nodes", at: body, request: (v) => ({ projectId, content: v }) }, grpc: [(v) => direct.nodes.createNode({ projectId, title: "t", content: v }, opts())] },
  { name: "node semanticType", limit: LIMITS.node.semanticType, kind: "max", make: chars, field: "semanticType", rest: { method: "post", path: "/api/v1/nodes", at: body, request: (v) => ({ projectId, semanticType: v }) }, grpc: [(v) => direct.nodes.createNode({ projectId, title: "t", semanticType: v }, opts())] },
  { name: "node tag count", limit: LIMITS.node.tags, kind: "max", make: tagList, field: "tags", rest: { method: "post", path: "/api/v1/nodes", at: body, request: (v) => ({ projectId, tags: v }) }, grpc: [(v) => direct.nodes.createNode({ projectId, title: "t", tags: v }, opts())] },
  { name: "node tag length", limit: LIMITS.node.tagLength, kind: "max", make: (n) => [chars(n)], field: "tags", rest: { method: "post", path: "/api/v1/nodes", at: body, request: (v) => ({ projectId, tags: v }) }, grpc: [(v) => direct.nodes.createNode({ projectId, title: "t", tags: v }, opts())] },
  { name: "node importance", limit: LIMITS.node.importanceMax, kind: "max", make: (n) => n, field: "importance", rest: { method: "post", path: "/api/v1/nodes", at: body, request: (v) => ({ projectId, importance: v }) }, grpc: [(v) => direct.nodes.createNode({ projectId, title: "t", importance: v }, opts())] },
  { name: "node tag filter", limit: LIMITS.node.tagLength, kind: "max", make: chars, field: "tag", rest: { method: "get", path: "/api/v1/nodes", at: { in: "query", name: "tag" }, request: (v) => v }, grpc: [(v) => direct.nodes.listNodes({ projectId, tag: v }, opts())] },
  { name: "node search", limit: LIMITS.node.query, kind: "max", make: chars, field: "q", rest: { method: "get", path: "/api/v1/nodes", at: { in: "query", name: "q" }, request: (v) => v }, grpc: [(v) => direct.nodes.listNodes({ projectId, q: v }, opts())] },
  { name: "page size", limit: LIMITS.page.max, kind: "max", make: (n) => n, field: "page.limit", rest: { method: "get", path: "/api/v1/nodes", at: { in: "query", name: "limit" }, request: (v) => v }, grpc: [(v) => direct.nodes.listNodes({ projectId, page: { limit: v, cursor: "" } }, opts())] },
  { name: "recipe prompt", limit: LIMITS.task.prompt, kind: "max", make: chars, field: "recipe.prompt", rest: { method: "post", path: "/api/v1/nodes", at: body, request: (v) => ({ projectId, recipe: { type: "generate", prompt: v } }) }, grpc: [(v) => direct.nodes.createNode({ projectId, title: "t", recipe: { type: "generate", prompt: v, model: "" } }, opts())] },
  { name: "recipe model", limit: LIMITS.task.model, kind: "max", make: chars, field: "recipe.options.model", rest: { method: "post", path: "/api/v1/nodes", at: body, request: (v) => ({ projectId, recipe: { type: "generate", options: { model: v } } }) }, grpc: [(v) => direct.nodes.createNode({ projectId, title: "t", recipe: { type: "generate", prompt: "", model: v } }, opts())] },
  { name: "connection label", limit: LIMITS.connection.label, kind: "max", make: chars, field: "label", rest: { method: "post", path: "/api/v1/connections", at: body, request: (v) => ({ projectId, sourceNodeId: nodeIds[0], targetNodeId: nodeIds[1], type: "related", label: v }) }, grpc: [(v) => direct.connections.createConnection({ projectId, sourceNodeId: nodeIds[0], targetNodeId: nodeIds[1], type: "CONNECTION_TYPE_RELATED", label: v }, opts())] },
  { name: "display name", limit: LIMITS.user.displayName, kind: "max", make: chars, field: "displayName", rest: { method: "patch", path: "/api/v1/users/me", at: body, request: (v) => ({ displayName: v }) }, grpc: [(v) => direct.users.updateMe({ displayName: v }, opts())] },
  { name: "avatar URL", limit: LIMITS.user.avatarUrl, kind: "max", make: url, field: "avatarUrl", rest: { method: "patch", path: "/api/v1/users/me", at: body, request: (v) => ({ avatarUrl: v }) }, grpc: [(v) => direct.users.updateMe({ avatarUrl: v }, opts())] },
  { name: "API key name", limit: LIMITS.apiKey.name, kind: "max", make: chars, field: "name", rest: { method: "post", path: "/api/v1/api-keys", at: body, request: (v) => ({ name: v }) }, grpc: [(v) => direct.users.createApiKey({ name: v }, opts())] },
  { name: "email", limit: LIMITS.user.email, kind: "max", make: email, field: "email", rest: { method: "post", path: "/api/v1/auth/register", at: body, request: (v) => ({ email: v, username: "someone", password: "password1" }) }, grpc: [async (v) => direct.users.register({ email: v, username: `u${Math.random().toString(36).slice(2, 12)}`, password: "password1" }, await gw())] },
  { name: "password max", limit: LIMITS.user.passwordMax, kind: "max", make: chars, field: "password", rest: { method: "post", path: "/api/v1/auth/register", at: body, request: (v) => ({ email: "a@example.com", username: "someone", password: v }) }, grpc: [async (v) => direct.users.register({ email: email(40), username: `u${Math.random().toString(36).slice(2, 12)}`, password: v }, await gw())] },
  { name: "password min", limit: LIMITS.user.passwordMin, kind: "min", make: chars, field: "password", rest: { method: "post", path: "/api/v1/auth/register", at: body, request: (v) => ({ email: "a@example.com", username: "someone", password: v }) }, grpc: [async (v) => direct.users.register({ email: email(40), username: `u${Math.random().toString(36).slice(2, 12)}`, password: v }, await gw())] },
  { name: "task prompt", limit: LIMITS.task.prompt, kind: "max", make: chars, field: "prompt", rest: { method: "post", path: "/api/v1/ai-tasks", at: body, request: (v) => ({ projectId, type: "generate", prompt: v }) }, grpc: [(v) => direct.broker.submitTask(generate({ prompt: v }), opts()), (v) => storeTask({ prompt: v })] },
  { name: "task sources", limit: LIMITS.task.sourceNodeIds, kind: "max", make: (n) => nodeIds.slice(0, n), field: "sourceNodeIds", rest: { method: "post", path: "/api/v1/ai-tasks", at: body, request: (v) => ({ projectId, type: "fusion", sourceNodeIds: v }) }, grpc: [(v) => direct.broker.submitTask({ projectId, type: "TASK_TYPE_FUSION", sourceNodeIds: v }, opts()), (v) => storeTask({ type: "TASK_TYPE_FUSION", sourceNodeIds: v })] },
  { name: "task model", limit: LIMITS.task.model, kind: "max", make: chars, field: "options.model", rest: { method: "post", path: "/api/v1/ai-tasks", at: body, request: (v) => ({ projectId, type: "generate", prompt: "p", options: { model: v } }) }, grpc: [(v) => direct.broker.submitTask(generate({ options: { model: v } }), opts()), (v) => storeTask({ options: { model: v } })] },
  { name: "task maxTokens", limit: LIMITS.task.maxTokens, kind: "max", make: (n) => n, field: "options.maxTokens", rest: { method: "post", path: "/api/v1/ai-tasks", at: body, request: (v) => ({ projectId, type: "generate", prompt: "p", options: { maxTokens: v } }) }, grpc: [(v) => direct.broker.submitTask(generate({ options: { model: "", maxTokens: v } }), opts()), (v) => storeTask({ options: { model: "", maxTokens: v } })] },
  { name: "task temperature", limit: LIMITS.task.temperatureMax, kind: "max", make: (n) => n, field: "options.temperature", rest: { method: "post", path: "/api/v1/ai-tasks", at: body, request: (v) => ({ projectId, type: "generate", prompt: "p", options: { temperature: v } }) }, grpc: [(v) => direct.broker.submitTask(generate({ options: { model: "", temperature: v } }), opts()), (v) => storeTask({ options: { model: "", temperature: v } })] },
  { name: "idempotency key", limit: LIMITS.task.idempotencyKey, kind: "max", make: chars, field: "idempotencyKey", rest: { method: "post", path: "/api/v1/ai-tasks", at: { in: "header", name: "idempotency-key" }, request: (v) => v }, grpc: [(v) => direct.broker.submitTask(generate({ idempotencyKey: v }), opts()), (v) => storeTask({ idempotencyKey: v })] },
];

/** The schema the published OpenAPI document gives for this part of the request. */
function documented(c: Case): object {
  const op = openapi.paths[c.rest.path]?.[c.rest.method];
  if (!op) throw new Error(`OpenAPI has no ${c.rest.method} ${c.rest.path}`);
  if (c.rest.at.in === "body") return op.requestBody.content["application/json"].schema;
  const { in: where, name } = c.rest.at;
  const p = op.parameters.find((x: any) => x.in === where && x.name === name);
  if (!p) throw new Error(`OpenAPI has no ${where} parameter ${name} on ${c.rest.path}`);
  return p.schema;
}

const ajv = createAjv("body");

async function refusedWith(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    const e = err as { code?: string; details?: { field?: string } };
    return `${e.code}:${e.details?.field ?? ""}`;
  }
}

describe("limits are the same at every door", () => {
  for (const c of cases) {
    it(`${c.name}: ${c.limit} accepted and ${c.kind === "max" ? c.limit + 1 : c.limit - 1} refused by OpenAPI, gateway, store${c.grpc.length > 1 ? " and broker" : ""}`, async () => {
      const step = c.limit % 1 === 0 ? 1 : 0.5;
      const at = c.make(c.limit);
      const past = c.make(c.kind === "max" ? c.limit + step : c.limit - step);
      const validate = ajv.compile(documented(c));
      expect(validate(c.rest.request(at)), JSON.stringify(validate.errors)).toBe(true);
      expect(validate(c.rest.request(past))).toBe(false);
      for (const call of c.grpc) {
        expect(await refusedWith(call(at))).toBeUndefined();
        const refusal = await refusedWith(call(past));
        expect(refusal?.split(":")[0]).toBe("VALIDATION_ERROR");
        expect(refusal?.split(":")[1]).toContain(c.field);
      }
      // And the gateway itself (not just its document) refuses the value past the limit.
      if (c.rest.at.in === "body") {
        const res = await req(c.rest.method.toUpperCase(), c.rest.path, { token, body: c.rest.request(past) });
        expect(res.status).toBe(400);
        expect(res.body.error.details.field).toContain(c.field.split(".")[0]);
      }
    }, 60_000);
  }

  it("every enum the OpenAPI document lists is the contracts' list, and the store takes each value", async () => {
    const nodeStatus = openapi.paths["/api/v1/nodes"].post.requestBody.content["application/json"].schema.properties.status.enum;
    expect(nodeStatus).toEqual([...ENUMS.nodeStatus]);
    const types = openapi.paths["/api/v1/connections"].post.requestBody.content["application/json"].schema.properties.type.enum;
    expect(types).toEqual([...ENUMS.connectionType]);
    const taskTypes = openapi.paths["/api/v1/ai-tasks"].post.requestBody.content["application/json"].schema.properties.type.enum;
    expect(taskTypes).toEqual([...ENUMS.taskType]);
    for (const s of ENUMS.nodeStatus) {
      const res = await req("POST", "/api/v1/nodes", { token, body: { projectId, title: s, status: s } });
      expect(res.status, s).toBe(201);
      expect(res.body.data.status).toBe(s);
    }
    for (const [i, t] of ENUMS.connectionType.entries()) {
      const res = await req("POST", "/api/v1/connections", { token, body: { projectId, sourceNodeId: nodeIds[2], targetNodeId: nodeIds[3 + i], type: t } });
      expect(res.status, t).toBe(201);
    }
  });

  it("a UUID in urn form or without dashes is refused by the document, the gateway and the store alike", async () => {
    const id = nodeIds[0];
    for (const bad of [`urn:uuid:${id}`, id.replace(/-/g, "")]) {
      const schema = documented({ rest: { method: "post", path: "/api/v1/nodes", at: body } } as Case) as any;
      expect(ajv.compile(schema.properties.parentId)(bad)).toBe(false);
      expect((await req("POST", "/api/v1/nodes", { token, body: { projectId, parentId: bad } })).status).toBe(400);
      expect(await refusedWith(direct.nodes.createNode({ projectId, title: "t", parentId: bad }, opts()))).toBe("VALIDATION_ERROR:parentId");
    }
  });
});

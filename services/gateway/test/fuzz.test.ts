// Fuzz every write route (each POST, PUT and PATCH with a body in the OpenAPI document) with
// 5,000 malformed bodies: random JSON, deep nesting, NUL, lone surrogates, huge strings, wrong
// types, __proto__/constructor keys, broken JSON. Every body is invalid by construction, so:
// only 4xx answers (never a 5xx, never a 2xx), the gateway stays up, and nothing is written
// (the project's event seq, graph, members, the user and their keys are unchanged). The counts
// by status and by kind are printed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "@sker/testkit/stack";
import { client, register, type Req } from "@sker/testkit/http";
import { WsClient } from "@sker/testkit/ws";
import { mutations, rng, sampleBody, type Body } from "./support/fuzz-bodies.js";

let stack: Stack;
let req: Req;
let user: Awaited<ReturnType<typeof register>>;
let ids: { project: string; node: string; node2: string; connection: string };

beforeAll(async () => {
  stack = await startStack({ withBroker: false });
  req = client(stack.url);
  user = await register(req, "fz");
  const t = user.accessToken;
  const project = (await req("POST", "/api/v1/projects", { token: t, body: { name: "fuzz" } })).body.data.id;
  const node = (await req("POST", "/api/v1/nodes", { token: t, body: { projectId: project, title: "a" } })).body.data.id;
  const node2 = (await req("POST", "/api/v1/nodes", { token: t, body: { projectId: project, title: "b" } })).body.data.id;
  const connection = (await req("POST", "/api/v1/connections", { token: t, body: { projectId: project, sourceNodeId: node, targetNodeId: node2, type: "related" } })).body.data.id;
  ids = { project, node, node2, connection };
}, 60_000);
afterAll(async () => stack?.close());

interface Route {
  method: string;
  path: string;
  /** The schema takes any object (a whole document): only kinds no route may accept apply. */
  open: boolean;
  valid: () => Body;
}

/** Hand-made valid bodies for the core routes; the mutations start from something close to valid. */
function handBodies(): Record<string, () => Body> {
  const { project, node, node2 } = ids;
  return {
    "POST /api/v1/projects": () => ({ name: "p", description: "d", canvasData: { zoom: 1 } }),
    "PATCH /api/v1/projects/{id}": () => ({ name: "p", status: "active", settings: { a: [1] } }),
    "PUT /api/v1/projects/{id}/members/{userId}": () => ({ role: "owner" }),
    "POST /api/v1/nodes": () => ({ projectId: project, title: "t", importance: 3, position: { x: 1, y: 2 }, tags: ["a"], metadata: { k: "v" } }),
    "PATCH /api/v1/nodes/{id}": () => ({ title: "t", confidence: 0.5, size: { width: 1, height: 1 } }),
    "POST /api/v1/nodes/{id}/rollback": () => ({ version: 1 }),
    "POST /api/v1/connections": () => ({ projectId: project, sourceNodeId: node2, targetNodeId: node, type: "input", weight: 0.3 }),
    "PATCH /api/v1/connections/{id}": () => ({ label: "l", weight: 0.5 }),
    "POST /api/v1/ai-tasks": () => ({ projectId: project, type: "generate", prompt: "p", options: { temperature: 1 } }),
    "PATCH /api/v1/users/me": () => ({ displayName: "d" }),
    "POST /api/v1/api-keys": () => ({ name: "k" }),
    "POST /api/v1/auth/register": () => ({ email: "f@example.com", username: "fuzzer", password: "password1" }),
    "POST /api/v1/auth/login": () => ({ email: "f@example.com", password: "password1" }),
  };
}

/** A path parameter → an id of ours where the route is about it, else a random UUID. */
function fill(path: string): string {
  return path.replace(/\{(\w+)\}/g, (_, name: string) => {
    if (name === "userId") return user.user.id;
    if (name !== "id") return crypto.randomUUID();
    if (path.startsWith("/api/v1/projects/")) return ids.project;
    if (path.startsWith("/api/v1/nodes/")) return ids.node;
    if (path.startsWith("/api/v1/connections/")) return ids.connection;
    return crypto.randomUUID();
  });
}

describe("fuzz", () => {
  it("5,000 malformed bodies over every write route → only 4xx, nothing written", async () => {
    const doc = (await req("GET", "/api/docs/json")).body;
    const hand = handBodies();
    const routes: Route[] = [];
    for (const [path, ops] of Object.entries<any>(doc.paths)) {
      for (const method of ["post", "put", "patch"]) {
        const schema = ops[method]?.requestBody?.content?.["application/json"]?.schema;
        if (!schema) continue;
        const key = `${method.toUpperCase()} ${path}`;
        routes.push({ method: method.toUpperCase(), path, open: schema.additionalProperties !== false, valid: hand[key] ?? (() => sampleBody(schema, ids.node)) });
      }
    }
    for (const key of Object.keys(hand)) expect(routes.map((r) => `${r.method} ${r.path}`)).toContain(key);
    // Closed bodies are the standard (an unknown field is a 400 naming it); the routes that take
    // a whole document are the exception, and are named here.
    expect(routes.filter((r) => r.open).map((r) => `${r.method} ${r.path}`)).toEqual(["POST /api/v1/projects/import"]);

    const rand = rng(Number(process.env.FUZZ_SEED ?? 20251127));
    const kinds = mutations(rand);
    const anyBody = kinds.filter((k) => k.anyBody);
    const before = await snapshot();
    const bad: string[] = [];
    const byStatus = new Map<number, number>();
    const byKind = new Map<string, number>();
    const total = Number(process.env.FUZZ_BODIES ?? 5000);
    let sent = 0;
    const worker = async () => {
      while (sent < total) {
        sent++;
        const route = routes[Math.floor(rand() * routes.length)];
        const usable = route.open ? anyBody : kinds;
        const kind = usable[Math.floor(rand() * usable.length)];
        const raw = kind.make(route.valid(), route.open);
        const path = fill(route.path);
        const res = await req(route.method, path, { token: user.accessToken, raw });
        byStatus.set(res.status, (byStatus.get(res.status) ?? 0) + 1);
        byKind.set(kind.name, (byKind.get(kind.name) ?? 0) + 1);
        if (res.status < 400 || res.status >= 500) bad.push(`${kind.name}: ${route.method} ${path} ${raw.slice(0, 160)} → ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    const fivexx = [...byStatus].filter(([s]) => s >= 500).reduce((n, [, c]) => n + c, 0);
    console.log(
      `fuzz: ${sent} bodies over ${routes.length} write routes; 5xx: ${fivexx}; 2xx/3xx: ${[...byStatus].filter(([s]) => s < 400).reduce((n, [, c]) => n + c, 0)}\n` +
        `  by status: ${[...byStatus].sort(([a], [b]) => a - b).map(([s, c]) => `${s}×${c}`).join(", ")}\n` +
        `  by kind: ${[...byKind].map(([k, c]) => `${k}×${c}`).join(", ")}`,
    );
    expect(sent).toBeGreaterThanOrEqual(total);
    expect(bad, bad.slice(0, 5).join("\n")).toEqual([]);
    expect((await req("GET", "/health")).status).toBe(200);
    expect(await snapshot()).toEqual(before);
  }, 600_000);
});

async function snapshot() {
  const t = user.accessToken;
  const ws = await WsClient.open(stack.url, t);
  ws.send({ type: "subscribe", projectId: ids.project });
  const seq = (await ws.next((f) => f.type === "subscribed")).seq;
  ws.ws.terminate();
  const graph = (await req("GET", `/api/v1/projects/${ids.project}/graph`, { token: t })).body.data;
  const projects = (await req("GET", "/api/v1/projects", { token: t })).body.data.items.map((p: any) => [p.id, p.name, p.updatedAt]);
  const members = (await req("GET", `/api/v1/projects/${ids.project}/members`, { token: t })).body.data.items;
  const me = (await req("GET", "/api/v1/users/me", { token: t })).body.data;
  const keys = (await req("GET", "/api/v1/api-keys", { token: t })).body.data.items;
  return { seq, graph, projects, members, me, keys };
}

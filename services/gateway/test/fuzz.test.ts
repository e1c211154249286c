// 2,000 random malformed bodies across every write route: only 4xx answers, the gateway stays
// up, and nothing is written (the project's event seq, graph, members and the user are unchanged).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "./support/stack.js";
import { client, register, type Req } from "./support/http.js";
import { WsClient } from "./support/ws.js";

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
});
afterAll(async () => stack?.close());

// A small seeded PRNG (mulberry32) so a failure can be replayed.
function rng(seed: number) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Route = { method: string; path: () => string; valid: () => Record<string, unknown> };

describe("fuzz", () => {
  it("2,000 malformed bodies → only 4xx, nothing written", async () => {
    const rand = rng(Number(process.env.FUZZ_SEED ?? 20251126));
    const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
    const { project, node, node2, connection } = ids;
    const routes: Route[] = [
      { method: "POST", path: () => "/api/v1/projects", valid: () => ({ name: "p", description: "d" }) },
      { method: "PATCH", path: () => `/api/v1/projects/${project}`, valid: () => ({ name: "p", status: "active" }) },
      { method: "PUT", path: () => `/api/v1/projects/${project}/members/${user.user.id}`, valid: () => ({ role: "owner" }) },
      { method: "POST", path: () => "/api/v1/nodes", valid: () => ({ projectId: project, title: "t", importance: 3, position: { x: 1, y: 2 }, tags: ["a"] }) },
      { method: "PATCH", path: () => `/api/v1/nodes/${node}`, valid: () => ({ title: "t", confidence: 0.5, size: { width: 1, height: 1 } }) },
      { method: "POST", path: () => `/api/v1/nodes/${node}/rollback`, valid: () => ({ version: 1 }) },
      { method: "POST", path: () => "/api/v1/connections", valid: () => ({ projectId: project, sourceNodeId: node2, targetNodeId: node, type: "input", weight: 0.3 }) },
      { method: "PATCH", path: () => `/api/v1/connections/${connection}`, valid: () => ({ label: "l", weight: 0.5 }) },
      { method: "POST", path: () => "/api/v1/ai-tasks", valid: () => ({ projectId: project, type: "generate", prompt: "p", options: { temperature: 1 } }) },
      { method: "PATCH", path: () => "/api/v1/users/me", valid: () => ({ displayName: "d" }) },
      { method: "POST", path: () => "/api/v1/api-keys", valid: () => ({ name: "k" }) },
      { method: "POST", path: () => "/api/v1/auth/register", valid: () => ({ email: "f@example.com", username: "fuzzer", password: "password1" }) },
    ];
    const wrongFor = (v: unknown): unknown => {
      if (typeof v === "string") return pick([1, true, {}, [], 3.5, ["s"]]);
      if (typeof v === "number") return pick(["1", true, {}, [], "NaN", null]);
      if (Array.isArray(v)) return pick(["a", 1, {}, [1, 2], [{}], null]);
      if (typeof v === "object" && v !== null) return pick(["x", 1, [], true, { zz: 1 }]);
      return "x";
    };
    const mutate = (body: Record<string, unknown>): string => {
      const keys = Object.keys(body);
      switch (Math.floor(rand() * 8)) {
        case 0:
          return JSON.stringify({ ...body, [`unknown_${Math.floor(rand() * 1000)}`]: rand() });
        case 1: {
          const k = pick(keys);
          return JSON.stringify({ ...body, [k]: wrongFor(body[k]) });
        }
        case 2: {
          const s = JSON.stringify(body);
          return s.slice(0, Math.max(1, Math.floor(rand() * (s.length - 1))));
        }
        case 3:
          return pick(["null", "[]", "42", '"str"', "true", "[{}]", "{", "}", "{{}}", "{'a':1}", "{\"a\":}", "\u0000", "{\"__proto__\":{\"x\":1}}"]);
        case 4: {
          let deep: unknown = 1;
          for (let i = 0; i < 200; i++) deep = { d: deep };
          return JSON.stringify({ ...body, nested_garbage: deep });
        }
        case 5: {
          const k = pick(keys.filter((x) => typeof body[x] === "number").concat(keys));
          return JSON.stringify({ ...body, [k]: pick([1e309 * 0 || -1e300, 1e300, -5, 99999999999]) }).replace("null", "1e999");
        }
        case 6: {
          const k = pick(keys);
          return JSON.stringify({ ...body, [k]: typeof body[k] === "string" ? { $ne: null } : "' OR 1=1 --" });
        }
        default:
          return JSON.stringify(Object.fromEntries(keys.map((k) => [k, wrongFor(body[k])])));
      }
    };

    const before = await snapshot();
    const bad: string[] = [];
    const total = 2000;
    let done = 0;
    const worker = async () => {
      while (done < total) {
        done++;
        const route = pick(routes);
        const raw = mutate(route.valid());
        const res = await req(route.method, route.path(), { token: user.accessToken, raw });
        if (res.status < 400 || res.status >= 500) bad.push(`${route.method} ${route.path()} ${raw.slice(0, 200)} → ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    expect(bad, bad.slice(0, 5).join("\n")).toEqual([]);
    expect((await req("GET", "/health")).status).toBe(200);
    expect(await snapshot()).toEqual(before);
  });
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

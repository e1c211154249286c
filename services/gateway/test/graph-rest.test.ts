import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { startStack, type Stack } from "@sker/testkit/stack";
import { client, register, type Req } from "@sker/testkit/http";
import * as map from "../src/rest/map.js";
import { directClients } from "./support/grpc.js";

// GET /projects/:id/graph now passes on the JSON PostgreSQL makes (ListNodesJson,
// ListConnectionsJson): over real processes, the body is the one the gateway built before from
// ListNodes and ListConnections through rest/map.ts, over several node pages, answered again
// from the read cache byte for byte; strangers get a plain 404; and a connection whose node is
// not in the answer is left out.

let stack: Stack;
let req: Req;
let db: pg.Client;
let owner: Awaited<ReturnType<typeof register>>;
let grpc: ReturnType<typeof directClients>;

beforeAll(async () => {
  stack = await startStack({ withBroker: false });
  req = client(stack.url);
  owner = await register(req, "owner");
  grpc = directClients(stack);
  db = new pg.Client({ connectionString: stack.env.DATABASE_URL });
  await db.connect();
}, 120_000);
afterAll(async () => {
  await db?.end();
  await stack?.close();
});

const newProject = async (name: string) => (await req("POST", "/api/v1/projects", { token: owner.accessToken, body: { name } })).body.data.id as string;

/** The body the gateway answered before: every page of ListNodes and ListConnections, through rest/map.ts. */
async function asBefore(projectId: string) {
  const opts = { token: owner.accessToken };
  const nodes: unknown[] = [];
  const seen = new Set<string>();
  let cursor = "";
  do {
    const res = await grpc.nodes.listNodes({ projectId, page: { limit: 500, cursor } }, opts);
    for (const n of res.nodes) (seen.add(n.id), nodes.push(map.node(n)));
    cursor = res.nextCursor;
  } while (cursor);
  const connections: unknown[] = [];
  do {
    const res = await grpc.connections.listConnections({ projectId, page: { limit: 500, cursor } }, opts);
    for (const c of res.connections) if (seen.has(c.sourceNodeId) && seen.has(c.targetNodeId)) connections.push(map.connection(c));
    cursor = res.nextCursor;
  } while (cursor);
  return JSON.parse(JSON.stringify({ success: true, data: { nodes, connections } }));
}

/** The graph's status, raw text and whether the read cache answered it. */
async function graph(projectId: string, token = owner.accessToken) {
  const hits = async () => Number(/gateway_read_cache_reads_total\{result="hit",route="graph"[^}]*\} (\d+)/.exec(await (await fetch(`${stack.url}/metrics`)).text())?.[1] ?? 0);
  const before = await hits();
  const res = await fetch(`${stack.url}/api/v1/projects/${projectId}/graph`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, type: res.headers.get("content-type"), text: await res.text(), cached: (await hits()) > before };
}

describe("GET /projects/:id/graph from PostgreSQL's JSON", () => {
  it("answers the body the protobuf path answered, over several pages, and the same bytes from the read cache", async () => {
    const projectId = await newProject("canvas");
    const odd = `q"uote \\ \n\t\u0001 é 中文 😀 \u2028`;
    const a = (await req("POST", "/api/v1/nodes", { token: owner.accessToken, body: { projectId, title: odd, content: odd, tags: ["x", "ÿ"], metadata: { z: 1, a: [null, { "k\"": 0.5 }], 10: "ten" }, position: { x: -2.5, y: 1e21 } } })).body.data.id;
    const b = (await req("POST", "/api/v1/nodes", { token: owner.accessToken, body: { projectId, title: "ai", parentId: a, recipe: { type: "generate", prompt: "p", options: { model: "m", temperature: 0, maxTokens: 9 } } } })).body.data.id;
    expect((await req("POST", "/api/v1/connections", { token: owner.accessToken, body: { projectId, sourceNodeId: a, targetNodeId: b, type: "dependency", label: odd, weight: 0.5 } })).status).toBe(201);
    // 1,200 more, straight into the database: three node pages of 500 and a few connection pages.
    await db.query(
      `INSERT INTO nodes (project_id, title, content, tags, created_by, created_at, updated_at)
       SELECT $1::uuid, 'n' || i, repeat('lorem ipsum ', 30), ARRAY['bulk'], $2::uuid, date_trunc('milliseconds', now()) + (i / 3) * interval '1 millisecond', now()
       FROM generate_series(1, 1200) AS i`,
      [projectId, owner.user.id],
    );
    await db.query(
      `INSERT INTO connections (project_id, source_node_id, target_node_id, type, created_by)
       SELECT $1::uuid, x.id, y.id, 'related', NULL
       FROM (SELECT id, row_number() OVER (ORDER BY created_at, id) AS r FROM nodes WHERE project_id = $1::uuid) x
       JOIN (SELECT id, row_number() OVER (ORDER BY created_at, id) AS r FROM nodes WHERE project_id = $1::uuid) y ON y.r = x.r + 1`,
      [projectId],
    );
    const expected = await asBefore(projectId);
    expect(expected.data.nodes).toHaveLength(1202);
    expect(expected.data.connections).toHaveLength(1202);

    const first = await graph(projectId);
    expect(first.status).toBe(200);
    expect(first.type).toBe("application/json; charset=utf-8");
    expect(first.cached).toBe(false);
    expect(JSON.parse(first.text)).toEqual(expected);
    // The cache fills from the stream; a later read is answered from memory, the same bytes.
    let again = await graph(projectId);
    for (let i = 0; i < 50 && !again.cached; i++) again = await graph(projectId);
    expect(again.cached).toBe(true);
    expect(again.text).toBe(first.text);
  });

  it("an empty canvas, and a stranger's 404 before any byte of the body", async () => {
    const projectId = await newProject("empty");
    const empty = await graph(projectId);
    expect([empty.status, empty.text]).toEqual([200, '{"success":true,"data":{"nodes":[],"connections":[]}}']);
    const stranger = await register(req, "stranger");
    const res = await graph(projectId, stranger.accessToken);
    expect(res.status).toBe(404);
    expect(JSON.parse(res.text)).toMatchObject({ success: false, error: { code: "NOT_FOUND" } });
  });

  it("leaves out a connection whose node is not in the answer", async () => {
    const projectId = await newProject("torn");
    const ids: string[] = [];
    for (const title of ["a", "b", "c"]) ids.push((await req("POST", "/api/v1/nodes", { token: owner.accessToken, body: { projectId, title } })).body.data.id);
    for (const [s, t] of [[0, 1], [1, 2]]) await req("POST", "/api/v1/connections", { token: owner.accessToken, body: { projectId, sourceNodeId: ids[s], targetNodeId: ids[t], type: "related" } });
    // What a read sees when node c is hidden between its node pages and its connection pages:
    // c gone from the nodes, its connection still listed.
    await db.query("UPDATE nodes SET deleted_at = now() WHERE id = $1", [ids[2]]);
    const listed = await grpc.connections.listConnections({ projectId, page: { limit: 500, cursor: "" } }, { token: owner.accessToken });
    expect(listed.connections).toHaveLength(2);
    const body = JSON.parse((await graph(projectId)).text);
    expect(body.data.nodes.map((n: { title: string }) => n.title)).toEqual(["a", "b"]);
    expect(body.data.connections.map((c: { sourceNodeId: string; targetNodeId: string }) => [c.sourceNodeId, c.targetNodeId])).toEqual([[ids[0], ids[1]]]);
  });
});

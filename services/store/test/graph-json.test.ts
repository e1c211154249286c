import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { Node } from "@sker/contracts/store/v1/node";
import { Connection } from "@sker/contracts/store/v1/connection";
import { expectAppError, startTestStore, type TestStore, type TestUser } from "@sker/testkit/store";
import * as rest from "../../gateway/src/rest/map.js";
import { nodeToProto } from "../src/nodes/map.js";
import { connectionToProto } from "../src/connections/map.js";
import type { ConnectionRow, NodeRow } from "../src/db/schema.js";

// The whole-canvas read's JSON pass-through (migration 0015, ListNodesJson, ListConnectionsJson):
// PostgreSQL's JSON of a node or connection is what the gateway made before from the same row
// (nodeToProto → protobuf wire → rest/map.ts), on both engines, and the JSON RPCs page exactly
// as ListNodes and ListConnections do, with the same checks.

/** What the gateway answered for a row before: the row as the store sent it, over the wire, mapped to REST. */
const viaProtobuf = {
  node: (r: NodeRow) => JSON.parse(JSON.stringify(rest.node(Node.decode(Node.encode(nodeToProto(r)).finish())))),
  connection: (r: ConnectionRow) => JSON.parse(JSON.stringify(rest.connection(Connection.decode(Connection.encode(connectionToProto(r)).finish())))),
};
const parsePage = (json: Buffer) => JSON.parse(`[${json.toString("utf8")}]`) as { id: string }[];

describe.each(["pg", "pglite"] as const)("graph JSON on %s", (driver) => {
  let store: TestStore;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let projectId: string;
  const as = (u: TestUser) => ({ token: u.token });
  beforeAll(async () => {
    store = await startTestStore({ driver, redis: false });
    [alice, bob, carol] = [await store.register("alice"), await store.register("bob"), await store.register("carol")];
    projectId = (await store.clients.projects.createProject({ name: "P" }, as(alice))).project!.id;
    await store.clients.projects.putMember({ projectId, userId: carol.id, role: "ROLE_VIEWER" as never }, as(alice));
  }, 180_000);
  afterAll(() => store?.shutdown());

  const create = async (over: Record<string, unknown> = {}) =>
    (await store.clients.nodes.createNode({ projectId, title: "t", content: "", tags: [], ...over }, as(alice))).node!.id;
  const set = (id: string, values: Record<string, unknown>) => store.db.updateTable("nodes").set(values).where("id", "=", id).execute();
  const nodeRows = () => store.db.selectFrom("nodes").selectAll().where("project_id", "=", projectId).orderBy("created_at").orderBy("id").execute();
  const rendered = async (table: "nodes" | "connections") => {
    const fn = sql.raw(table === "nodes" ? "sker_node_rest(t)" : "sker_connection_rest(t)");
    const { rows } = await sql<{ id: string; j: string }>`SELECT id, ${fn} AS j FROM ${sql.table(table)} t WHERE project_id = ${projectId}::uuid`.execute(store.db);
    return new Map(rows.map((r) => [r.id, r.j]));
  };

  it("sker_node_rest and sker_connection_rest render every field shape as the protobuf path did", async () => {
    const odd = `q"uote \\ back/slash \n\r\t\b\f \u0001\u001f\u007f é 中文 😀 \u2028\u2029 </script>`;
    const plain = await create({ title: "plain", content: "c" });
    const strange = await create({
      title: odd,
      content: odd.repeat(3),
      semanticType: "idea\u0002",
      tags: ["x", "ÿ", odd.slice(0, 20).trim()],
      metadata: { b: 1, a: null, 10: "ten", 2: [1, null, { "k\"ey": odd }], "": true, deep: { n: 0.1, big: 1e21, tiny: 1e-7, neg: -12.5, int: 9007199254740991 } },
    });
    const child = await create({ title: "child", parentId: plain, recipe: { type: "generate", prompt: "write it", model: "m-1", temperature: 0.7, maxTokens: 100 } as never });
    const bare = await create({ title: "bare recipe", recipe: { type: "analyze", prompt: "", model: "" } as never });
    const zeros = await create({ title: "zero options", recipe: { type: "expand", prompt: "p", model: "", temperature: 0 } as never });
    const gone = await create({ title: "hidden" });
    await set(child, { position_x: 1e21, position_y: -1.5, width: 0.1, height: 123456789.123, confidence: 1 / 3, importance: 5, status: "processing", ai_generated: true });
    await set(strange, { position_x: -0, position_y: 5e-324, confidence: 0, status: "error" });
    await set(gone, { deleted_at: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6)), created_by: null, parent_id: strange, confidence: 1e-9 });
    await store.db.updateTable("nodes").set({ version: sql`version + 41` }).where("id", "=", bare).execute();

    const link = (await store.clients.connections.createConnection({ projectId, sourceNodeId: plain, targetNodeId: strange, type: "CONNECTION_TYPE_DEPENDENCY" as never, label: odd, weight: 0.25 }, as(alice))).connection!.id;
    const link2 = (await store.clients.connections.createConnection({ projectId, sourceNodeId: child, targetNodeId: zeros, type: "CONNECTION_TYPE_INPUT" as never, weight: 0 }, as(alice))).connection!.id;
    await store.db.updateTable("connections").set({ created_by: null }).where("id", "=", link2).execute();

    const nodes = await rendered("nodes");
    const rows = await nodeRows();
    expect(rows.map((r) => r.id).sort()).toEqual([plain, strange, child, bare, zeros, gone].sort());
    for (const r of rows) expect(JSON.parse(nodes.get(r.id)!), r.title).toEqual(viaProtobuf.node(r));
    // Where jsonb and float spelling cannot differ, the very bytes are the same.
    const plainRow = rows.find((r) => r.id === plain)!;
    expect(nodes.get(plain)).toBe(JSON.stringify(viaProtobuf.node(plainRow)));
    expect(JSON.parse(nodes.get(gone)!)).toMatchObject({ deletedAt: "2026-01-02T03:04:05.006Z", createdBy: null, parentId: strange });
    expect(JSON.parse(nodes.get(zeros)!).recipe).toEqual({ type: "expand", prompt: "p", options: { temperature: 0 } });
    expect(JSON.parse(nodes.get(bare)!).recipe).toEqual({ type: "analyze", options: {} });

    const connections = await rendered("connections");
    const crows = await store.db.selectFrom("connections").selectAll().where("project_id", "=", projectId).execute();
    expect(crows).toHaveLength(2);
    for (const r of crows) {
      expect(JSON.parse(connections.get(r.id)!)).toEqual(viaProtobuf.connection(r));
      expect(connections.get(r.id)).toBe(JSON.stringify(viaProtobuf.connection(r)));
    }
    expect(JSON.parse(connections.get(link)!).label).toBe(odd);

    // A metadata that is not an object (no write path stores one) is answered as {}, as map.ts does for none.
    await set(plain, { metadata: sql`'null'::jsonb` });
    expect(JSON.parse((await rendered("nodes")).get(plain)!).metadata).toEqual({});
    await set(plain, { metadata: "{}" });
  });

  it("ListNodesJson pages as ListNodes does (by limit, cursor ties, filters), each node once and in order", async () => {
    const p = (await store.clients.projects.createProject({ name: "paging" }, as(alice))).project!.id;
    // Rows sharing a millisecond: only the id orders them, as the cursor must.
    await sql`
      INSERT INTO nodes (project_id, title, content, tags, created_by, created_at, updated_at)
      SELECT ${p}::uuid, 'n' || i, repeat('é', i), CASE WHEN i % 3 = 0 THEN ARRAY['three'] ELSE '{}' END, ${alice.id}::uuid,
             timestamptz '2026-01-01T00:00:00Z' + (i / 4) * interval '1 millisecond', now()
      FROM generate_series(1, 23) AS i`.execute(store.db);
    for (const [limit, filter] of [[7, {}], [1, {}], [500, {}], [2, { tag: "three" }], [3, { q: "n1" }]] as const) {
      const pages = { json: [] as { id: string }[][], proto: [] as unknown[][], cursors: [] as string[][] };
      let [a, b] = ["", ""];
      do {
        const j = await store.clients.nodes.listNodesJson({ projectId: p, ...filter, page: { limit, cursor: a } }, as(alice));
        const n = await store.clients.nodes.listNodes({ projectId: p, ...filter, page: { limit, cursor: b } }, as(alice));
        const items = parsePage(j.json);
        expect(items.map((x) => x.id)).toEqual(j.ids);
        pages.json.push(items);
        pages.proto.push(n.nodes.map((x) => JSON.parse(JSON.stringify(rest.node(x)))));
        pages.cursors.push([j.nextCursor, n.nextCursor]);
        [a, b] = [j.nextCursor, n.nextCursor];
      } while (a || b);
      expect(pages.json, `limit ${limit} ${JSON.stringify(filter)}`).toEqual(pages.proto);
      for (const [x, y] of pages.cursors) expect(x).toBe(y);
      const ids = pages.json.flat().map((x) => x.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(pages.json.every((pg) => pg.length <= limit && pg.length > 0)).toBe(true);
    }
    const all = await store.clients.nodes.listNodesJson({ projectId: p, page: { limit: 500, cursor: "" } }, as(alice));
    expect(all.ids).toHaveLength(23);
    expect(all.nextCursor).toBe("");
    // An empty page is empty bytes, no cursor.
    const none = await store.clients.nodes.listNodesJson({ projectId: p, tag: "nothing" }, as(alice));
    expect([none.json.length, none.ids, none.nextCursor]).toEqual([0, [], ""]);
  });

  it("ListNodesJson cuts pages by bytes as ListNodes does", async () => {
    const p = (await store.clients.projects.createProject({ name: "heavy" }, as(alice))).project!.id;
    // 200 KB of 4-byte characters each: five fit in LIMITS.page.bytes (1 MiB), the sixth starts the next page.
    await sql`
      INSERT INTO nodes (project_id, title, content, created_at, updated_at)
      SELECT ${p}::uuid, 'h' || i, CASE WHEN i % 2 = 0 THEN repeat('😀', 50000) ELSE 'small' END,
             timestamptz '2026-01-01T00:00:00Z' + i * interval '1 millisecond', now()
      FROM generate_series(1, 14) AS i`.execute(store.db);
    const sizes: number[] = [];
    const seen: string[] = [];
    let [a, b] = ["", ""];
    do {
      const j = await store.clients.nodes.listNodesJson({ projectId: p, page: { limit: 500, cursor: a } }, as(alice));
      const n = await store.clients.nodes.listNodes({ projectId: p, page: { limit: 500, cursor: b } }, as(alice));
      expect(j.ids).toEqual(n.nodes.map((x) => x.id));
      expect(parsePage(j.json)).toEqual(n.nodes.map((x) => JSON.parse(JSON.stringify(rest.node(x)))));
      expect(j.nextCursor).toBe(n.nextCursor);
      sizes.push(j.ids.length);
      seen.push(...j.ids);
      [a, b] = [j.nextCursor, n.nextCursor];
    } while (a);
    expect(sizes.length).toBeGreaterThan(1);
    const titles = (await store.db.selectFrom("nodes").select("id").where("project_id", "=", p).orderBy("created_at").orderBy("id").execute()).map((r) => r.id);
    expect(seen).toEqual(titles);
  });

  it("ListConnectionsJson pages as ListConnections does, with each connection's ends", async () => {
    const p = (await store.clients.projects.createProject({ name: "links" }, as(alice))).project!.id;
    await sql`
      INSERT INTO nodes (project_id, title, created_at, updated_at)
      SELECT ${p}::uuid, 'c' || i, timestamptz '2026-01-01T00:00:00Z' + i * interval '1 millisecond', now() FROM generate_series(1, 12) AS i`.execute(store.db);
    await sql`
      INSERT INTO connections (project_id, source_node_id, target_node_id, type, label, created_at, updated_at)
      SELECT ${p}::uuid, a.id, b.id, 'related', a.title || '→' || b.title, timestamptz '2026-01-01T00:00:00Z', now()
      FROM nodes a JOIN nodes b ON a.project_id = b.project_id AND a.id < b.id WHERE a.project_id = ${p}::uuid`.execute(store.db);
    const total = Number((await sql<{ n: string }>`SELECT count(*) AS n FROM connections WHERE project_id = ${p}::uuid`.execute(store.db)).rows[0].n);
    for (const limit of [5, 500]) {
      const seen: string[] = [];
      let [a, b] = ["", ""];
      do {
        const j = await store.clients.connections.listConnectionsJson({ projectId: p, page: { limit, cursor: a } }, as(alice));
        const c = await store.clients.connections.listConnections({ projectId: p, page: { limit, cursor: b } }, as(alice));
        expect(j.connections.map((x) => JSON.parse(x.json.toString("utf8")))).toEqual(c.connections.map((x) => JSON.parse(JSON.stringify(rest.connection(x)))));
        expect(j.connections.map((x) => [x.sourceNodeId, x.targetNodeId])).toEqual(c.connections.map((x) => [x.sourceNodeId, x.targetNodeId]));
        expect(j.nextCursor).toBe(c.nextCursor);
        seen.push(...c.connections.map((x) => x.id));
        [a, b] = [j.nextCursor, c.nextCursor];
      } while (a);
      expect(new Set(seen).size).toBe(total);
    }
  });

  it("the JSON RPCs check input and access as ListNodes and ListConnections do", async () => {
    const nodes = (req: Record<string, unknown>, u = alice) => store.clients.nodes.listNodesJson({ projectId, ...req }, as(u));
    const links = (req: Record<string, unknown>, u = alice) => store.clients.connections.listConnectionsJson({ projectId, ...req }, as(u));
    // Viewers read; strangers and nobody do not learn the project exists.
    expect((await nodes({}, carol)).ids.length).toBeGreaterThan(0);
    expect((await links({}, carol)).connections.length).toBeGreaterThan(0);
    await expectAppError(nodes({}, bob), "NOT_FOUND");
    await expectAppError(links({}, bob), "NOT_FOUND");
    await expectAppError(store.clients.nodes.listNodesJson({ projectId }, {}), "UNAUTHENTICATED");
    await expectAppError(store.clients.connections.listConnectionsJson({ projectId }, {}), "UNAUTHENTICATED");
    await expectAppError(nodes({ projectId: crypto.randomUUID() }), "NOT_FOUND");
    // Bad input names its field.
    const otherList = Buffer.from(JSON.stringify(["2026-01-01T00:00:00.000Z", "7"])).toString("base64url");
    for (const cursor of ["nope", otherList, Buffer.from("[1,2]").toString("base64url")]) {
      await expectAppError(nodes({ page: { limit: 5, cursor } }), "VALIDATION_ERROR", "page.cursor");
      await expectAppError(links({ page: { limit: 5, cursor } }), "VALIDATION_ERROR", "page.cursor");
    }
    await expectAppError(nodes({ page: { limit: 501, cursor: "" } }), "VALIDATION_ERROR", "page.limit");
    await expectAppError(links({ page: { limit: 501, cursor: "" } }), "VALIDATION_ERROR", "page.limit");
    await expectAppError(nodes({ projectId: "x" }), "VALIDATION_ERROR", "projectId");
    await expectAppError(links({ projectId: "x" }), "VALIDATION_ERROR", "projectId");
    await expectAppError(links({ nodeId: "x" }), "VALIDATION_ERROR", "nodeId");
    await expectAppError(nodes({ tag: "t".repeat(1000) }), "VALIDATION_ERROR", "tag");
  });
});

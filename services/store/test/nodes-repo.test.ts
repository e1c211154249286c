import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { hardDelete, insertNode, listNodes, liveNodesIn, restore, softDelete, wouldCycle } from "../src/nodes/repo.js";
import { insertConnection } from "../src/connections/repo.js";
import { parsePage } from "../src/input/page.js";
import { createTestDb, type TestDb } from "@sker/testkit/db";

// The node and connection SQL on both engines the store runs on: the same answers from
// PostgreSQL and from embedded PGlite.

describe.each(["pg", "pglite"] as const)("node repository on %s", (driver) => {
  let t: TestDb;
  let projectId: string;
  let userId: string;

  beforeAll(async () => {
    t = await createTestDb(driver);
    userId = (await t.db.insertInto("users").values({ email: "r@x.test", username: "r", password_hash: "x", settings: "{}" }).returning("id").executeTakeFirstOrThrow()).id;
    projectId = (await t.db.insertInto("projects").values({ name: "P", owner_id: userId, canvas_data: "{}", settings: "{}" }).returning("id").executeTakeFirstOrThrow()).id;
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  const make = (title: string, over: Record<string, unknown> = {}) =>
    insertNode(t.db, { project_id: projectId, title, content: `${title} body`, tags: [], metadata: "{}", created_by: userId, ...over }, { changeType: "create", createdBy: userId });

  it("timestamps are cut to milliseconds, so keyset cursors round-trip", async () => {
    const n = await make("ms");
    const raw = await sql<{ us: number }>`SELECT extract(microseconds FROM created_at)::int % 1000 AS us FROM nodes WHERE id = ${n.id}`.execute(t.db);
    expect(raw.rows[0].us).toBe(0);
    // The first version is written by the same statement, with the node's own title and content.
    const versions = await t.db.selectFrom("node_versions").select(["version", "title", "content", "change_type", "created_by"]).where("node_id", "=", n.id).execute();
    expect(versions).toEqual([{ version: 1, title: "ms", content: "ms body", change_type: "create", created_by: userId }]);
  });

  it("lists by tag (GIN containment) and text with LIKE wildcards taken literally, paged", async () => {
    const pid = projectId;
    await make("tagged", { tags: ["red", "blue"] });
    await make("percent", { content: "50% off_sale" });
    await make("plain", { content: "500 offXsale" });
    const f = (over: object) => listNodes(t.db, { projectId: pid, page: parsePage(undefined), ...over });
    expect((await f({ tag: "blue" })).rows.map((n) => n.title)).toEqual(["tagged"]);
    expect((await f({ q: "0% OFF_" })).rows.map((n) => n.title)).toEqual(["percent"]);
    const first = await f({ page: parsePage({ limit: 2, cursor: "" }) });
    expect(first.keep).toBe(2);
    expect(first.rows).toHaveLength(3); // keep + 1: the caller cuts it and makes the cursor
  });

  it("soft delete hides connections; restore shows only those whose other end is live; a loop is seen", async () => {
    const [a, b, c] = [await make("a"), await make("b"), await make("c")];
    const ab = (await insertConnection(t.db, { projectId, sourceNodeId: a.id, targetNodeId: b.id, type: "related", createdBy: userId }))!;
    const bc = (await insertConnection(t.db, { projectId, sourceNodeId: b.id, targetNodeId: c.id, type: "related", createdBy: userId }))!;
    expect(await insertConnection(t.db, { projectId, sourceNodeId: a.id, targetNodeId: b.id, type: "related", createdBy: userId })).toBeUndefined();

    const hidden = await softDelete(t.db, b.id);
    expect(hidden.map((x) => x.id).sort()).toEqual([ab.id, bc.id].sort());
    expect(await liveNodesIn(t.db, projectId, [a.id, b.id, c.id])).toHaveLength(2);
    await softDelete(t.db, c.id);
    const back = await restore(t.db, b.id);
    expect(back.connections.map((x) => x.id)).toEqual([ab.id]);

    await t.db.updateTable("nodes").set({ parent_id: a.id }).where("id", "=", b.id).execute();
    expect(await wouldCycle(t.db, a.id, b.id)).toBe(true);
    expect(await wouldCycle(t.db, c.id, b.id)).toBe(false);

    const gone = await hardDelete(t.db, a.id);
    expect(gone.connections.map((x) => x.id)).toEqual([ab.id]);
    expect(gone.orphans.map((o) => [o.id, o.parent_id])).toEqual([[b.id, null]]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStore, type TestStore } from "@sker/testkit/store";

describe("event seq under concurrent writers (pg)", () => {
  let store: TestStore;
  beforeAll(async () => {
    store = await startTestStore({ driver: "pg" });
  });
  afterAll(async () => {
    await store?.shutdown();
  });

  it("50 concurrent node updates on one project: seq 1..55 exactly (5 creates + 50 updates) (no gap, no duplicate)", async () => {
    const u = await store.register("writer");
    const t = { token: u.token };
    const projectId = (await store.clients.projects.createProject({ name: "race" }, t)).project!.id;
    const nodeIds = await Promise.all(
      [0, 1, 2, 3, 4].map(async (i) => (await store.clients.nodes.createNode({ projectId, title: `n${i}` }, t)).node!.id),
    );
    // 50 writers spread over 5 nodes, all at once.
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) => store.clients.nodes.updateNode({ id: nodeIds[i % 5], content: `w${i}` }, t)),
    );
    expect(results.filter((r) => r.status === "rejected")).toEqual([]);
    const rows = await store.db.selectFrom("events").select(["seq", "name"]).where("project_id", "=", projectId).orderBy("seq").execute();
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 55 }, (_, i) => i + 1));
    expect(rows.filter((r) => r.name === "node.updated")).toHaveLength(50);
    const { latestSeq } = await store.clients.events.listEvents({ projectId }, t);
    expect(latestSeq).toBe(55);
    // Each node's versions went up by one per write: 10 writes each → version 11.
    const versions = await store.db.selectFrom("nodes").select("version").where("project_id", "=", projectId).execute();
    expect(versions.map((v) => v.version)).toEqual([11, 11, 11, 11, 11]);
  });
});

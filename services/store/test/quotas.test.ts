// Quotas (issue #9): projects per user, nodes and bytes per project, API keys per user. Each is
// checked in the transaction of the write it limits, so concurrent writes at the edge never
// overshoot; over a quota is QUOTA_EXCEEDED with {quota, limit, used}. Both drivers: the usage
// counters are a trigger, which the embedded PGlite has to run too.
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NodeStatus } from "@sker/contracts/store/v1/node";
import { TaskPriority, TaskStatus, TaskType } from "@sker/contracts/store/v1/task";
import { ConfigError } from "@sker/kit";
import { QUOTA_DEFAULTS } from "@sker/contracts/limits";
import { loadStoreConfig } from "../src/config.js";
import { expectAppError, startTestStore, type TestStore, type TestUser } from "@sker/testkit/store";

const QUOTA = { projects: 3, nodes: 5, bytes: 2_000, keys: 2 };
const env = {
  QUOTA_PROJECTS_PER_USER: String(QUOTA.projects),
  QUOTA_NODES_PER_PROJECT: String(QUOTA.nodes),
  QUOTA_BYTES_PER_PROJECT: String(QUOTA.bytes),
  QUOTA_API_KEYS_PER_USER: String(QUOTA.keys),
};

describe.each(["pg", "pglite"] as const)("quotas (%s)", (driver) => {
  let store: TestStore;
  const as = (u: TestUser) => ({ token: u.token });
  beforeAll(async () => {
    store = await startTestStore({ driver, env });
    // A new PGlite database takes seconds to create, and many more on a loaded machine.
  }, 180_000);
  afterAll(async () => store?.shutdown());

  const project = async (u: TestUser) => (await store.clients.projects.createProject({ name: "p" }, as(u))).project!.id;
  const node = (u: TestUser, projectId: string, content = "", title = "t") =>
    store.clients.nodes.createNode({ projectId, title, content, status: NodeStatus.NODE_STATUS_UNSPECIFIED }, as(u));
  const usage = async (projectId: string) => {
    const r = await store.db.selectFrom("projects").select(["node_count", "content_bytes"]).where("id", "=", projectId).executeTakeFirstOrThrow();
    return { nodes: Number(r.node_count), bytes: Number(r.content_bytes) };
  };
  /** What the nodes hold, counted from scratch: the trigger's counters must equal it. */
  const recount = async (projectId: string) => {
    const { rows } = await sql<{ n: number | string; b: number | string | null }>`
      SELECT count(*) AS n, sum(octet_length(title) + octet_length(content) + octet_length(metadata::text)) AS b
      FROM nodes WHERE project_id = ${projectId}`.execute(store.db);
    return { nodes: Number(rows[0].n), bytes: Number(rows[0].b ?? 0) };
  };
  const settle = async <T>(ps: Promise<T>[]) => {
    const all = await Promise.allSettled(ps);
    return { ok: all.filter((r) => r.status === "fulfilled").length, refused: all.flatMap((r) => (r.status === "rejected" ? [r.reason] : [])) };
  };

  it(`${QUOTA.projects + 7} concurrent project creates against a quota of ${QUOTA.projects}: exactly ${QUOTA.projects} made, the rest QUOTA_EXCEEDED with the limit`, async () => {
    const u = await store.register("proj");
    const { ok, refused } = await settle(Array.from({ length: QUOTA.projects + 7 }, () => project(u)));
    expect(ok).toBe(QUOTA.projects);
    expect(refused).toHaveLength(7);
    for (const e of refused) expect(e).toMatchObject({ code: "QUOTA_EXCEEDED", details: { quota: "projectsPerUser", limit: QUOTA.projects, used: QUOTA.projects } });
    const owned = (await store.clients.projects.listProjects({}, as(u))).projects;
    expect(owned).toHaveLength(QUOTA.projects);
    await store.clients.projects.deleteProject({ id: owned[0].id }, as(u));
    expect(await project(u)).toBeTruthy();
  });

  it(`${QUOTA.nodes + 7} concurrent node creates against a quota of ${QUOTA.nodes}: exactly ${QUOTA.nodes} rows and events; hidden nodes count until deleted for good`, async () => {
    const u = await store.register("nodes");
    const p = await project(u);
    const { ok, refused } = await settle(Array.from({ length: QUOTA.nodes + 7 }, (_, i) => node(u, p, `c${i}`)));
    expect(ok).toBe(QUOTA.nodes);
    for (const e of refused) expect(e).toMatchObject({ code: "QUOTA_EXCEEDED", details: { quota: "nodesPerProject", limit: QUOTA.nodes } });
    expect(await recount(p)).toEqual(await usage(p));
    expect((await usage(p)).nodes).toBe(QUOTA.nodes);
    const created = await store.db.selectFrom("events").select("seq").where("project_id", "=", p).where("name", "=", "node.created").execute();
    expect(created).toHaveLength(QUOTA.nodes);

    const [first] = (await store.clients.nodes.listNodes({ projectId: p }, as(u))).nodes;
    await store.clients.nodes.deleteNode({ id: first.id }, as(u));
    await expectAppError(node(u, p), "QUOTA_EXCEEDED");
    await store.clients.nodes.deleteNode({ id: first.id, permanent: true }, as(u));
    expect((await node(u, p)).node).toBeTruthy();
    expect(await recount(p)).toEqual(await usage(p));
  });

  it("a write that would take a project past its bytes refuses and writes nothing; shrinking passes; concurrent growth stays within the quota", async () => {
    const u = await store.register("bytes");
    const p = await project(u);
    const a = (await node(u, p, "x".repeat(900))).node!;
    const b = (await node(u, p, "y".repeat(900))).node!;
    const before = await usage(p);
    expect(before).toEqual(await recount(p));

    const err = await expectAppError(store.clients.nodes.updateNode({ id: a.id, content: "x".repeat(1_200) }, as(u)), "QUOTA_EXCEEDED");
    expect(err.details).toMatchObject({ quota: "bytesPerProject", limit: QUOTA.bytes, used: before.bytes, requested: 300 });
    expect((await store.clients.nodes.getNode({ id: a.id }, as(u))).node!.version).toBe(1);
    expect(await usage(p)).toEqual(before);

    await store.clients.nodes.updateNode({ id: b.id, content: "y" }, as(u));
    expect(await usage(p)).toEqual(await recount(p));
    const room = QUOTA.bytes - (await usage(p)).bytes;
    const each = 200;
    const { ok } = await settle(Array.from({ length: 8 }, () => node(u, p, "z".repeat(each - 3))));
    expect(ok).toBe(Math.min(QUOTA.nodes - 2, Math.floor(room / each)));
    const after = await usage(p);
    expect(after.bytes).toBeLessThanOrEqual(QUOTA.bytes);
    expect(after).toEqual(await recount(p));
  });

  it(`${QUOTA.keys + 4} concurrent API key creates against a quota of ${QUOTA.keys}: exactly ${QUOTA.keys}`, async () => {
    const u = await store.register("keys");
    const { ok, refused } = await settle(Array.from({ length: QUOTA.keys + 4 }, (_, i) => store.clients.users.createApiKey({ name: `k${i}` }, as(u))));
    expect(ok).toBe(QUOTA.keys);
    for (const e of refused) expect(e).toMatchObject({ code: "QUOTA_EXCEEDED", details: { quota: "apiKeysPerUser", limit: QUOTA.keys, used: QUOTA.keys } });
  });

  it("an AI output that would take the project past its bytes fails the task with QUOTA_EXCEEDED and writes nothing", async () => {
    const u = await store.register("ai");
    const p = await project(u);
    await node(u, p, "x".repeat(1_500));
    const broker = { token: await store.serviceToken("broker") };
    const task = (
      await store.clients.tasks.createTask(
        { projectId: p, type: TaskType.TASK_TYPE_GENERATE, prompt: "write", priority: TaskPriority.TASK_PRIORITY_UNSPECIFIED },
        await store.viaBroker(as(u)),
      )
    ).task!;
    await store.clients.lifecycle.startTask({ id: task.id, workerId: "w", leaseMs: 30_000 }, broker);
    const before = await usage(p);
    const res = await store.clients.lifecycle.completeTask(
      { id: task.id, workerId: "w", output: { title: "big", content: "y".repeat(1_000), tags: [], semanticType: "", importance: 0, confidence: 0 }, provider: "local", model: "m" },
      broker,
    );
    expect(res.applied).toBe(false);
    expect(res.task).toMatchObject({ status: TaskStatus.TASK_STATUS_FAILED, error: { code: "QUOTA_EXCEEDED" } });
    expect(await usage(p)).toEqual(before);
    expect(await recount(p)).toEqual(before);
  });
});

describe("quota settings", () => {
  it("default to limits a small team never meets (≥ 10,000 nodes and ≥ 50 MB per project)", () => {
    const q = loadStoreConfig({}).quotas;
    expect(q).toEqual(QUOTA_DEFAULTS);
    expect(q.nodesPerProject).toBeGreaterThanOrEqual(10_000);
    expect(q.bytesPerProject).toBeGreaterThanOrEqual(50_000_000);
  });

  it("a bad value stops the store at start, naming the variable", () => {
    for (const name of Object.keys(env)) {
      for (const bad of ["0", "-1", "lots"]) expect(() => loadStoreConfig({ [name]: bad }), `${name}=${bad}`).toThrow(ConfigError);
      expect(() => loadStoreConfig({ [name]: "0" })).toThrow(name);
    }
  });
});

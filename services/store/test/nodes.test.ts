import { Role } from "@sker/contracts/common/v1/common";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError } from "@sker/kit";
import { NodeStatus, type CreateNodeRequest, type UpdateNodeRequest } from "@sker/contracts/store/v1/node";
import type { Database } from "../src/db/schema.js";
import { expectAppError, startTestStore, type TestStore, type TestUser } from "@sker/testkit/store";
import { resourceOf } from "./support/events.js";

// NodeService over real gRPC against a real PostgreSQL: what an editor, a viewer and a stranger
// see, and that bad input is refused by field with nothing written.

let store: TestStore;
let owner: TestUser;
let viewer: TestUser;
let stranger: TestUser;
let projectId: string;
let otherProjectId: string;

const as = (u: TestUser) => ({ token: u.token });
const base = (over: Partial<CreateNodeRequest> = {}): CreateNodeRequest => ({
  projectId,
  title: "A node",
  content: "",
  semanticType: "",
  importance: 0,
  status: NodeStatus.NODE_STATUS_UNSPECIFIED,
  tags: [],
  parentId: "",
  ...over,
});
const patch = (id: string, over: Partial<UpdateNodeRequest> = {}): UpdateNodeRequest => ({ id, status: NodeStatus.NODE_STATUS_UNSPECIFIED, ...over });

async function count(table: keyof Database): Promise<number> {
  const row = await store.db.selectFrom(table).select((eb) => eb.fn.countAll().as("n")).executeTakeFirstOrThrow();
  return Number(row.n);
}
const counts = async () => ({ nodes: await count("nodes"), versions: await count("node_versions"), events: await count("events") });

async function newProject(u: TestUser, name = "P"): Promise<string> {
  const { project } = await store.clients.projects.createProject({ name, description: "", canvasData: {}, settings: {} }, as(u));
  return project!.id;
}

beforeAll(async () => {
  store = await startTestStore({ driver: "pg" });
  [owner, viewer, stranger] = await Promise.all([store.register("owner"), store.register("viewer"), store.register("stranger")]);
  projectId = await newProject(owner);
  otherProjectId = await newProject(stranger, "Q");
  await store.clients.projects.putMember({ projectId, userId: viewer.id, role: Role.ROLE_VIEWER }, as(owner));
});
afterAll(async () => {
  await store?.shutdown();
});

const create = async (over: Partial<CreateNodeRequest> = {}, u = owner) => (await store.clients.nodes.createNode(base(over), as(u))).node!;

describe("validation: INVALID_ARGUMENT naming the field, nothing written", () => {
  const cases: [string, () => Partial<CreateNodeRequest>, string][] = [
    ["empty title", () => ({ title: "   " }), "title"],
    ["title of 501 chars", () => ({ title: "t".repeat(501) }), "title"],
    ["content of 100,001 chars", () => ({ content: "c".repeat(100_001) }), "content"],
    ["importance 9", () => ({ importance: 9 }), "importance"],
    ["confidence 2", () => ({ confidence: 2 }), "confidence"],
    ["malformed project id", () => ({ projectId: "not-a-uuid" }), "projectId"],
    ["malformed parent id", () => ({ parentId: "42" }), "parentId"],
    ["unknown status enum", () => ({ status: NodeStatus.UNRECOGNIZED }), "status"],
    ["51 tags", () => ({ tags: Array.from({ length: 51 }, (_, i) => `t${i}`) }), "tags"],
    ["a tag of 51 chars", () => ({ tags: ["ok", "x".repeat(51)] }), "tags[1]"],
    ["a size of zero", () => ({ size: { width: 0, height: 10 } }), "size.width"],
  ];
  it.each(cases)("CreateNode with %s", async (_name, over, field) => {
    const before = await counts();
    await expectAppError(store.clients.nodes.createNode(base(over()), as(owner)), "VALIDATION_ERROR", field);
    expect(await counts()).toEqual(before);
  });

  it("CreateNode with a parent from another project", async () => {
    const foreign = await create({ projectId: otherProjectId }, stranger);
    const before = await counts();
    await expectAppError(store.clients.nodes.createNode(base({ parentId: foreign.id }), as(owner)), "VALIDATION_ERROR", "parentId");
    expect(await counts()).toEqual(before);
  });

  it("UpdateNode with importance 9, confidence 2, an empty title or itself as parent changes nothing", async () => {
    const node = await create();
    const before = await counts();
    for (const [over, field] of [
      [{ importance: 9 }, "importance"],
      [{ confidence: 2 }, "confidence"],
      [{ title: "" }, "title"],
      [{ content: "x".repeat(100_001) }, "content"],
      [{ parentId: node.id }, "parentId"],
      [{ status: NodeStatus.UNRECOGNIZED }, "status"],
    ] as const) {
      await expectAppError(store.clients.nodes.updateNode(patch(node.id, over), as(owner)), "VALIDATION_ERROR", field);
    }
    expect(await counts()).toEqual(before);
    expect((await store.clients.nodes.getNode({ id: node.id }, as(owner))).node!.version).toBe(1);
  });

  it("a parent that would close a loop is refused", async () => {
    const a = await create({ title: "a" });
    const b = await create({ title: "b", parentId: a.id });
    await expectAppError(store.clients.nodes.updateNode(patch(a.id, { parentId: b.id }), as(owner)), "VALIDATION_ERROR", "parentId");
  });

  it("reads: malformed id, page size 10,000, 501 ids", async () => {
    await expectAppError(store.clients.nodes.getNode({ id: "zzz" }, as(owner)), "VALIDATION_ERROR", "id");
    await expectAppError(
      store.clients.nodes.listNodes({ projectId, status: NodeStatus.NODE_STATUS_UNSPECIFIED, tag: "", q: "", page: { limit: 10_000, cursor: "" } }, as(owner)),
      "VALIDATION_ERROR",
      "page.limit",
    );
    await expectAppError(
      store.clients.nodes.listNodes({ projectId, status: NodeStatus.NODE_STATUS_UNSPECIFIED, tag: "", q: "", page: { limit: 10, cursor: "garbage" } }, as(owner)),
      "VALIDATION_ERROR",
      "page.cursor",
    );
    // A well-formed cursor of another list (versions are keyed by number) or made by hand.
    const foreign = Buffer.from(JSON.stringify([new Date().toISOString(), "3"])).toString("base64url");
    const outOfRange = Buffer.from(JSON.stringify(["-271821-04-20", crypto.randomUUID()])).toString("base64url");
    await expectAppError(
      store.clients.nodes.listNodes({ projectId, status: NodeStatus.NODE_STATUS_UNSPECIFIED, tag: "", q: "", page: { limit: 10, cursor: outOfRange } }, as(owner)),
      "VALIDATION_ERROR",
      "page.cursor",
    );
    await expectAppError(
      store.clients.nodes.listNodes({ projectId, status: NodeStatus.NODE_STATUS_UNSPECIFIED, tag: "", q: "", page: { limit: 10, cursor: foreign } }, as(owner)),
      "VALIDATION_ERROR",
      "page.cursor",
    );
    const ids = Array.from({ length: 501 }, () => crypto.randomUUID());
    await expectAppError(store.clients.nodes.getNodes({ ids }, as(owner)), "VALIDATION_ERROR", "ids");
    await expectAppError(store.clients.nodes.getNodes({ ids: [crypto.randomUUID(), "x"] }, as(owner)), "VALIDATION_ERROR", "ids[1]");
  });
});

describe("create, read, update", () => {
  it("creates at version 1 with defaults, one version row and a node.created event", async () => {
    const before = await counts();
    const node = await create({ title: "Hello", content: "world", tags: [" a ", "b", "a"], position: { x: 10, y: 20 } });
    expect(node).toMatchObject({ version: 1, importance: 3, confidence: 1, status: "NODE_STATUS_IDLE", tags: ["a", "b"], position: { x: 10, y: 20 }, createdBy: owner.id });
    expect(await counts()).toEqual({ nodes: before.nodes + 1, versions: before.versions + 1, events: before.events + 1 });
    const ev = await store.db.selectFrom("events").selectAll().where("project_id", "=", projectId).orderBy("seq", "desc").executeTakeFirstOrThrow();
    expect(ev.name).toBe("node.created");
    expect(resourceOf(ev)).toMatchObject({ id: node.id, title: "Hello", status: "NODE_STATUS_IDLE", tags: ["a", "b"], version: 1 });
  });

  it("every change grows the version by one; a change to nothing writes nothing; reads are fresh after writes", async () => {
    const node = await create({ title: "v1" });
    expect((await store.clients.nodes.getNode({ id: node.id }, as(viewer))).node!.title).toBe("v1"); // now cached
    const v2 = (await store.clients.nodes.updateNode(patch(node.id, { title: "v2" }), as(owner))).node!;
    expect(v2.version).toBe(2);
    expect((await store.clients.nodes.getNode({ id: node.id }, as(viewer))).node!).toMatchObject({ title: "v2", version: 2 });
    const v3 = (await store.clients.nodes.updateNode(patch(node.id, { importance: 5, position: { x: 1, y: 2 } }), as(owner))).node!;
    expect(v3).toMatchObject({ version: 3, importance: 5, title: "v2" });
    const before = await counts();
    const same = (await store.clients.nodes.updateNode(patch(node.id, { importance: 5, title: "v2" }), as(owner))).node!;
    expect(same.version).toBe(3);
    expect(await counts()).toEqual(before);
    // Only title/content changes add a version row: create, v2.
    const versions = (await store.clients.nodes.listNodeVersions({ nodeId: node.id, page: undefined }, as(viewer))).versions;
    expect(versions.map((v) => [v.version, v.changeType])).toEqual([
      [2, "CHANGE_TYPE_EDIT"],
      [1, "CHANGE_TYPE_CREATE"],
    ]);
  });

  it("a stale expected version is VERSION_CONFLICT with the current version", async () => {
    const node = await create();
    await store.clients.nodes.updateNode(patch(node.id, { expectedVersion: 1, content: "x" }), as(owner));
    const err = await expectAppError(store.clients.nodes.updateNode(patch(node.id, { expectedVersion: 1, content: "y" }), as(owner)), "VERSION_CONFLICT");
    expect(err.details).toEqual({ currentVersion: 2 });
    expect((await store.clients.nodes.getNode({ id: node.id }, as(owner))).node!.content).toBe("x");
  });

  it("20 concurrent writers expecting version 1: exactly one wins", async () => {
    const node = await create();
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => store.clients.nodes.updateNode(patch(node.id, { expectedVersion: 1, title: `w${i}` }), as(owner))),
    );
    const won = results.filter((r) => r.status === "fulfilled");
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(won).toHaveLength(1);
    expect(lost.every((r) => r.reason instanceof AppError && r.reason.code === "VERSION_CONFLICT" && r.reason.details?.currentVersion === 2)).toBe(true);
  });

  it("20 concurrent writers retrying on conflict: each version 2..21 is won exactly once", async () => {
    const node = await create();
    const writer = async (i: number) => {
      for (;;) {
        const current = (await store.clients.nodes.getNode({ id: node.id }, as(owner))).node!.version;
        try {
          return (await store.clients.nodes.updateNode(patch(node.id, { expectedVersion: current, title: `writer ${i}` }), as(owner))).node!.version;
        } catch (err) {
          if (!(err instanceof AppError && err.code === "VERSION_CONFLICT")) throw err;
        }
      }
    };
    const versions = await Promise.all(Array.from({ length: 20 }, (_, i) => writer(i)));
    expect([...versions].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
    const rows = await store.db.selectFrom("node_versions").select("version").where("node_id", "=", node.id).orderBy("version").execute();
    expect(rows.map((r) => r.version)).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
  });
});

describe("lists", () => {
  let pid: string;
  beforeAll(async () => {
    pid = await newProject(owner, "lists");
    for (let i = 0; i < 7; i++) {
      await create({ projectId: pid, title: `n${i}`, content: i === 3 ? "100% done_ok" : "1000 doneXok", tags: i % 2 ? ["odd"] : ["even"] });
    }
    await create({ projectId: pid, title: "busy", status: NodeStatus.NODE_STATUS_PROCESSING });
  });
  const list = (over: object) =>
    store.clients.nodes.listNodes({ projectId: pid, status: NodeStatus.NODE_STATUS_UNSPECIFIED, tag: "", q: "", page: undefined, ...over }, as(owner));

  it("pages through every node once, in creation order", async () => {
    const seen: string[] = [];
    let cursor = "";
    do {
      const page = await list({ page: { limit: 3, cursor } });
      expect(page.nodes.length).toBeLessThanOrEqual(3);
      seen.push(...page.nodes.map((n) => n.title));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(["n0", "n1", "n2", "n3", "n4", "n5", "n6", "busy"]);
  });

  it("filters by status, tag and text (with % and _ taken literally)", async () => {
    expect((await list({ status: NodeStatus.NODE_STATUS_PROCESSING })).nodes.map((n) => n.title)).toEqual(["busy"]);
    expect((await list({ tag: "odd" })).nodes.map((n) => n.title)).toEqual(["n1", "n3", "n5"]);
    expect((await list({ q: "0% DONE_" })).nodes.map((n) => n.title)).toEqual(["n3"]);
    expect((await list({ q: "N6" })).nodes.map((n) => n.title)).toEqual(["n6"]);
  });

  it("GetNodes answers the visible ones in the order asked", async () => {
    const [a, b] = [await create({ title: "ga" }), await create({ title: "gb" })];
    const foreign = await create({ projectId: otherProjectId, title: "secret" }, stranger);
    const { nodes } = await store.clients.nodes.getNodes({ ids: [b.id, foreign.id, crypto.randomUUID(), a.id, b.id] }, as(owner));
    expect(nodes.map((n) => n.title)).toEqual(["gb", "ga"]);
  });
});

describe("tenancy and roles", () => {
  it("a viewer reads but cannot write; a stranger sees nothing", async () => {
    const node = await create();
    expect((await store.clients.nodes.getNode({ id: node.id }, as(viewer))).node!.id).toBe(node.id);
    await expectAppError(store.clients.nodes.createNode(base(), as(viewer)), "FORBIDDEN");
    await expectAppError(store.clients.nodes.updateNode(patch(node.id, { title: "no" }), as(viewer)), "FORBIDDEN");
    await expectAppError(store.clients.nodes.getNode({ id: node.id }, as(stranger)), "NOT_FOUND");
    await expectAppError(store.clients.nodes.deleteNode({ id: node.id, permanent: true }, as(stranger)), "NOT_FOUND");
    await expectAppError(store.clients.nodes.createNode(base(), as(stranger)), "NOT_FOUND");
    await expectAppError(store.clients.nodes.getNode({ id: node.id }, { token: await store.serviceToken("broker") }), "UNAUTHENTICATED");
  });
});

describe("delete, restore, versions, rollback", () => {
  const link = (source: string, target: string) =>
    store.clients.connections.createConnection({ projectId, sourceNodeId: source, targetNodeId: target, type: "CONNECTION_TYPE_RELATED" as never, label: "" }, as(owner));
  const graph = async () => store.clients.projects.getGraph({ projectId }, as(viewer));

  it("soft delete hides the node and its connections; restore brings both back", async () => {
    const [a, b, c] = [await create({ title: "a" }), await create({ title: "b" }), await create({ title: "c" })];
    const ab = (await link(a.id, b.id)).connection!;
    const bc = (await link(b.id, c.id)).connection!;
    await store.clients.nodes.deleteNode({ id: b.id, permanent: false }, as(owner));
    await expectAppError(store.clients.nodes.getNode({ id: b.id }, as(owner)), "NOT_FOUND");
    await expectAppError(store.clients.nodes.deleteNode({ id: b.id, permanent: false }, as(owner)), "NOT_FOUND");
    let g = await graph();
    expect(g.nodes.map((n) => n.id)).not.toContain(b.id);
    expect(g.connections.map((x) => x.id)).not.toContain(ab.id);
    const events = await store.db.selectFrom("events").select(["name", "data", "payload"]).where("project_id", "=", projectId).orderBy("seq", "desc").limit(3).execute();
    expect(events.map((e) => e.name).sort()).toEqual(["connection.deleted", "connection.deleted", "node.deleted"]);
    expect(resourceOf(events.find((e) => e.name === "node.deleted")!)).toEqual({ id: b.id });

    // c goes too; restoring b brings back a→b but not b→c, whose other end is still hidden.
    await store.clients.nodes.deleteNode({ id: c.id, permanent: false }, as(owner));
    const restored = (await store.clients.nodes.restoreNode({ id: b.id }, as(owner))).node!;
    expect(restored).toMatchObject({ id: b.id, title: "b" });
    expect(restored.deletedAt).toBeUndefined();
    g = await graph();
    expect(g.connections.map((x) => x.id)).toContain(ab.id);
    expect(g.connections.map((x) => x.id)).not.toContain(bc.id);
    await store.clients.nodes.restoreNode({ id: c.id }, as(owner));
    expect((await graph()).connections.map((x) => x.id)).toContain(bc.id);
  });

  it("permanent delete removes the node, its versions and connections, and frees its children", async () => {
    const parent = await create({ title: "parent" });
    const child = await create({ title: "child", parentId: parent.id });
    const other = await create({ title: "other" });
    await link(parent.id, other.id);
    await store.clients.nodes.deleteNode({ id: parent.id, permanent: false }, as(owner)); // hidden first: still removable
    await store.clients.nodes.deleteNode({ id: parent.id, permanent: true }, as(owner));
    expect(await store.db.selectFrom("nodes").select("id").where("id", "=", parent.id).execute()).toEqual([]);
    expect(await store.db.selectFrom("node_versions").select("version").where("node_id", "=", parent.id).execute()).toEqual([]);
    expect(await store.db.selectFrom("connections").select("id").where("source_node_id", "=", parent.id).execute()).toEqual([]);
    const orphan = (await store.clients.nodes.getNode({ id: child.id }, as(owner))).node!;
    expect(orphan).toMatchObject({ parentId: "", version: 2 });
    await expectAppError(store.clients.nodes.restoreNode({ id: parent.id }, as(owner)), "NOT_FOUND");
  });

  it("versions page newest first; rollback writes a new version with the old text", async () => {
    const node = await create({ title: "t1", content: "c1" });
    for (let i = 2; i <= 5; i++) await store.clients.nodes.updateNode(patch(node.id, { title: `t${i}`, content: `c${i}` }), as(owner));
    const p1 = await store.clients.nodes.listNodeVersions({ nodeId: node.id, page: { limit: 2, cursor: "" } }, as(viewer));
    const p2 = await store.clients.nodes.listNodeVersions({ nodeId: node.id, page: { limit: 2, cursor: p1.nextCursor } }, as(viewer));
    const p3 = await store.clients.nodes.listNodeVersions({ nodeId: node.id, page: { limit: 2, cursor: p2.nextCursor } }, as(viewer));
    expect([...p1.versions, ...p2.versions, ...p3.versions].map((v) => v.version)).toEqual([5, 4, 3, 2, 1]);
    expect(p3.nextCursor).toBe("");

    const rolled = (await store.clients.nodes.rollbackNode({ id: node.id, version: 2 }, as(owner))).node!;
    expect(rolled).toMatchObject({ version: 6, title: "t2", content: "c2" });
    const [latest] = (await store.clients.nodes.listNodeVersions({ nodeId: node.id, page: { limit: 1, cursor: "" } }, as(viewer))).versions;
    expect(latest).toMatchObject({ version: 6, title: "t2", content: "c2", changeType: "CHANGE_TYPE_ROLLBACK", createdBy: owner.id });
    await expectAppError(store.clients.nodes.rollbackNode({ id: node.id, version: 99 }, as(owner)), "NOT_FOUND");
    await expectAppError(store.clients.nodes.rollbackNode({ id: node.id, version: 0 }, as(owner)), "VALIDATION_ERROR", "version");
    await expectAppError(store.clients.nodes.rollbackNode({ id: node.id, version: 2 }, as(viewer)), "FORBIDDEN");
  });
});

import { Role } from "@sker/contracts/common/v1/common";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConnectionType, type CreateConnectionRequest } from "@sker/contracts/store/v1/connection";
import { NodeStatus } from "@sker/contracts/store/v1/node";
import type { Database } from "../src/db/schema.js";
import { expectAppError, startTestStore, type TestStore, type TestUser } from "@sker/testkit/store";
import { resourceOf } from "./support/events.js";

// ConnectionService and ProjectService.GetGraph over real gRPC against a real PostgreSQL.

let store: TestStore;
let owner: TestUser;
let viewer: TestUser;
let stranger: TestUser;
let projectId: string;
let otherProjectId: string;
const as = (u: TestUser) => ({ token: u.token });

async function count(table: keyof Database): Promise<number> {
  const row = await store.db.selectFrom(table).select((eb) => eb.fn.countAll().as("n")).executeTakeFirstOrThrow();
  return Number(row.n);
}
const counts = async () => ({ connections: await count("connections"), events: await count("events") });

async function newProject(u: TestUser, name: string) {
  return (await store.clients.projects.createProject({ name, description: "", canvasData: {}, settings: {} }, as(u))).project!.id;
}
async function node(title: string, pid = projectId, u = owner) {
  const req = { projectId: pid, title, content: "", semanticType: "", importance: 0, status: NodeStatus.NODE_STATUS_UNSPECIFIED, tags: [], parentId: "" };
  return (await store.clients.nodes.createNode(req, as(u))).node!;
}
const req = (over: Partial<CreateConnectionRequest>): CreateConnectionRequest => ({
  projectId,
  sourceNodeId: "",
  targetNodeId: "",
  type: ConnectionType.CONNECTION_TYPE_RELATED,
  label: "",
  ...over,
});

beforeAll(async () => {
  store = await startTestStore({ driver: "pg" });
  [owner, viewer, stranger] = await Promise.all([store.register("owner"), store.register("viewer"), store.register("stranger")]);
  projectId = await newProject(owner, "P");
  otherProjectId = await newProject(stranger, "Q");
  await store.clients.projects.putMember({ projectId, userId: viewer.id, role: Role.ROLE_VIEWER }, as(owner));
});
afterAll(async () => {
  await store?.shutdown();
});

describe("validation: INVALID_ARGUMENT naming the field, nothing written", () => {
  it.each([
    ["a self-loop", "targetNodeId", (a: string) => ({ sourceNodeId: a, targetNodeId: a })],
    ["weight 2", "weight", (a: string, b: string) => ({ sourceNodeId: a, targetNodeId: b, weight: 2 })],
    ["weight -0.1", "weight", (a: string, b: string) => ({ sourceNodeId: a, targetNodeId: b, weight: -0.1 })],
    ["no type", "type", (a: string, b: string) => ({ sourceNodeId: a, targetNodeId: b, type: ConnectionType.CONNECTION_TYPE_UNSPECIFIED })],
    ["an unknown type", "type", (a: string, b: string) => ({ sourceNodeId: a, targetNodeId: b, type: ConnectionType.UNRECOGNIZED })],
    ["a label of 201 chars", "label", (a: string, b: string) => ({ sourceNodeId: a, targetNodeId: b, label: "l".repeat(201) })],
    ["a malformed source id", "sourceNodeId", (_a: string, b: string) => ({ sourceNodeId: "nope", targetNodeId: b })],
    ["a malformed project id", "projectId", (a: string, b: string) => ({ projectId: "p", sourceNodeId: a, targetNodeId: b })],
    ["an unknown target", "targetNodeId", (a: string) => ({ sourceNodeId: a, targetNodeId: crypto.randomUUID() })],
  ] as const)("%s → %s", async (_name, field, make) => {
    const [a, b] = [await node("a"), await node("b")];
    const before = await counts();
    await expectAppError(store.clients.connections.createConnection(req(make(a.id, b.id)), as(owner)), "VALIDATION_ERROR", field);
    expect(await counts()).toEqual(before);
  });

  it("a connection across projects names the foreign end", async () => {
    const mine = await node("mine");
    const theirs = await node("theirs", otherProjectId, stranger);
    const before = await counts();
    await expectAppError(store.clients.connections.createConnection(req({ sourceNodeId: mine.id, targetNodeId: theirs.id }), as(owner)), "VALIDATION_ERROR", "targetNodeId");
    await expectAppError(store.clients.connections.createConnection(req({ sourceNodeId: theirs.id, targetNodeId: mine.id }), as(owner)), "VALIDATION_ERROR", "sourceNodeId");
    expect(await counts()).toEqual(before);
  });

  it("a hidden node cannot be linked", async () => {
    const [a, b] = [await node("a"), await node("b")];
    await store.clients.nodes.deleteNode({ id: b.id, permanent: false }, as(owner));
    await expectAppError(store.clients.connections.createConnection(req({ sourceNodeId: a.id, targetNodeId: b.id }), as(owner)), "VALIDATION_ERROR", "targetNodeId");
  });

  it("page size 10,000 and a malformed node filter", async () => {
    await expectAppError(store.clients.connections.listConnections({ projectId, nodeId: "", page: { limit: 10_000, cursor: "" } }, as(owner)), "VALIDATION_ERROR", "page.limit");
    await expectAppError(store.clients.connections.listConnections({ projectId, nodeId: "x", page: undefined }, as(owner)), "VALIDATION_ERROR", "nodeId");
  });
});

describe("lifecycle", () => {
  it("creates with weight 1 by default and a connection.created event; a duplicate is CONFLICT", async () => {
    const [a, b] = [await node("a"), await node("b")];
    const c = (await store.clients.connections.createConnection(req({ sourceNodeId: a.id, targetNodeId: b.id, label: "uses" }), as(owner))).connection!;
    expect(c).toMatchObject({ projectId, sourceNodeId: a.id, targetNodeId: b.id, type: "CONNECTION_TYPE_RELATED", label: "uses", weight: 1, createdBy: owner.id });
    const ev = await store.db.selectFrom("events").selectAll().where("project_id", "=", projectId).orderBy("seq", "desc").executeTakeFirstOrThrow();
    expect(ev.name).toBe("connection.created");
    expect(resourceOf(ev)).toMatchObject({ id: c.id, type: "CONNECTION_TYPE_RELATED", weight: 1, sourceNodeId: a.id });

    const before = await counts();
    await expectAppError(store.clients.connections.createConnection(req({ sourceNodeId: a.id, targetNodeId: b.id }), as(owner)), "CONFLICT");
    expect(await counts()).toEqual(before);
    // Another type, or the other direction, is another connection.
    await store.clients.connections.createConnection(req({ sourceNodeId: a.id, targetNodeId: b.id, type: ConnectionType.CONNECTION_TYPE_DEPENDENCY }), as(owner));
    await store.clients.connections.createConnection(req({ sourceNodeId: b.id, targetNodeId: a.id }), as(owner));
  });

  it("updates label, weight and type; a type that collides is CONFLICT; deletes", async () => {
    const [a, b] = [await node("a"), await node("b")];
    const c1 = (await store.clients.connections.createConnection(req({ sourceNodeId: a.id, targetNodeId: b.id }), as(owner))).connection!;
    await store.clients.connections.createConnection(req({ sourceNodeId: a.id, targetNodeId: b.id, type: ConnectionType.CONNECTION_TYPE_INPUT }), as(owner));
    const u = (await store.clients.connections.updateConnection({ id: c1.id, type: ConnectionType.CONNECTION_TYPE_UNSPECIFIED, label: "new", weight: 0.25 }, as(owner))).connection!;
    expect(u).toMatchObject({ label: "new", weight: 0.25, type: "CONNECTION_TYPE_RELATED" });
    await expectAppError(store.clients.connections.updateConnection({ id: c1.id, type: ConnectionType.CONNECTION_TYPE_INPUT }, as(owner)), "CONFLICT");
    await expectAppError(store.clients.connections.updateConnection({ id: c1.id, type: ConnectionType.CONNECTION_TYPE_UNSPECIFIED, weight: 3 }, as(owner)), "VALIDATION_ERROR", "weight");
    expect((await store.clients.connections.getConnection({ id: c1.id }, as(viewer))).connection).toMatchObject({ weight: 0.25, type: "CONNECTION_TYPE_RELATED" });

    await store.clients.connections.deleteConnection({ id: c1.id }, as(owner));
    await expectAppError(store.clients.connections.getConnection({ id: c1.id }, as(owner)), "NOT_FOUND");
    const ev = await store.db.selectFrom("events").selectAll().where("project_id", "=", projectId).orderBy("seq", "desc").executeTakeFirstOrThrow();
    expect(ev.name).toBe("connection.deleted");
    expect(resourceOf(ev)).toEqual({ id: c1.id });
  });

  it("viewers read, cannot write; strangers get NOT_FOUND", async () => {
    const [a, b] = [await node("a"), await node("b")];
    const c = (await store.clients.connections.createConnection(req({ sourceNodeId: a.id, targetNodeId: b.id }), as(owner))).connection!;
    await expectAppError(store.clients.connections.createConnection(req({ sourceNodeId: b.id, targetNodeId: a.id }), as(viewer)), "FORBIDDEN");
    await expectAppError(store.clients.connections.deleteConnection({ id: c.id }, as(viewer)), "FORBIDDEN");
    await expectAppError(store.clients.connections.getConnection({ id: c.id }, as(stranger)), "NOT_FOUND");
    await expectAppError(store.clients.connections.updateConnection({ id: c.id, type: ConnectionType.CONNECTION_TYPE_UNSPECIFIED, label: "x" }, as(stranger)), "NOT_FOUND");
    await expectAppError(store.clients.connections.listConnections({ projectId, nodeId: "", page: undefined }, as(stranger)), "NOT_FOUND");
  });
});

describe("lists and the graph", () => {
  it("lists a node's connections at either end, paged without repeats", async () => {
    const pid = await newProject(owner, "list");
    const hub = await node("hub", pid);
    const spokes = [];
    for (let i = 0; i < 5; i++) spokes.push(await node(`s${i}`, pid));
    const made: string[] = [];
    for (const [i, s] of spokes.entries()) {
      const r = i % 2 ? { sourceNodeId: hub.id, targetNodeId: s.id } : { sourceNodeId: s.id, targetNodeId: hub.id };
      made.push((await store.clients.connections.createConnection(req({ projectId: pid, ...r }), as(owner))).connection!.id);
    }
    await store.clients.connections.createConnection(req({ projectId: pid, sourceNodeId: spokes[0].id, targetNodeId: spokes[1].id }), as(owner));
    const seen: string[] = [];
    let cursor = "";
    do {
      const page = await store.clients.connections.listConnections({ projectId: pid, nodeId: hub.id, page: { limit: 2, cursor } }, as(owner));
      seen.push(...page.connections.map((c) => c.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(made);
    expect((await store.clients.connections.listConnections({ projectId: pid, nodeId: "", page: undefined }, as(owner))).connections).toHaveLength(6);
  });

  it("GetGraph answers every live node and connection of the project, to viewers only", async () => {
    const pid = await newProject(owner, "graph");
    await store.clients.projects.putMember({ projectId: pid, userId: viewer.id, role: Role.ROLE_VIEWER }, as(owner));
    const [a, b, c] = [await node("a", pid), await node("b", pid), await node("c", pid)];
    const ab = (await store.clients.connections.createConnection(req({ projectId: pid, sourceNodeId: a.id, targetNodeId: b.id }), as(owner))).connection!;
    await store.clients.connections.createConnection(req({ projectId: pid, sourceNodeId: b.id, targetNodeId: c.id }), as(owner));
    await store.clients.nodes.deleteNode({ id: c.id, permanent: false }, as(owner));
    await node("elsewhere"); // another project of the same owner

    const g = await store.clients.projects.getGraph({ projectId: pid }, as(viewer));
    expect(g.nodes.map((n) => n.title)).toEqual(["a", "b"]);
    expect(g.connections.map((x) => x.id)).toEqual([ab.id]);
    await expectAppError(store.clients.projects.getGraph({ projectId: pid }, as(stranger)), "NOT_FOUND");
    await expectAppError(store.clients.projects.getGraph({ projectId: "x" }, as(owner)), "VALIDATION_ERROR", "projectId");
  });
});

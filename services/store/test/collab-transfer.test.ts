import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectAppError, startTestStore, type TestStore, type TestUser } from "@sker/testkit/store";

// Export → import → export over real gRPC and PostgreSQL, in both formats: the same canvas comes
// back (ids and times aside). A bad file is refused naming the field, and nothing is created.

let store: TestStore;
let alice: TestUser;
let bob: TestUser;
let source: string;
const as = (u: TestUser) => ({ token: u.token });

/** A canvas without what an import is free to change: ids (mapped to positions) and times. */
function canonical(file: any, format: "sker" | "jsoncanvas") {
  const nodes = format === "sker" ? file.nodes : file.nodes;
  const index = new Map<string, number>(nodes.map((n: any, i: number) => [n.id, i]));
  if (format === "jsoncanvas") {
    return {
      nodes: file.nodes.map(({ id: _id, ...n }: any) => n),
      edges: file.edges.map((e: any) => ({ ...e, id: undefined, fromNode: index.get(e.fromNode), toNode: index.get(e.toNode) })),
    };
  }
  return {
    project: file.project,
    nodes: file.nodes.map(({ id: _id, parentId, versions, ...n }: any) => ({
      ...n,
      parentId: parentId === null ? null : index.get(parentId),
      versions: versions?.map(({ createdAt: _c, ...v }: any) => v),
    })),
    connections: file.connections.map((c: any) => ({ ...c, id: undefined, sourceNodeId: index.get(c.sourceNodeId), targetNodeId: index.get(c.targetNodeId) })),
  };
}

async function projectCount(): Promise<number> {
  const r = await store.db.selectFrom("projects").select((eb) => eb.fn.countAll().as("n")).executeTakeFirstOrThrow();
  return Number(r.n);
}

beforeAll(async () => {
  store = await startTestStore({ redis: false });
  alice = await store.register("alice");
  bob = await store.register("bob");
  source = (await store.clients.projects.createProject({ name: "Source", description: "d", canvasData: { zoom: 2 }, settings: { theme: "dark" } }, as(alice))).project!.id;
  const c = store.clients.nodes;
  const a = (await c.createNode({ projectId: source, title: "Idea", content: "The **core** idea\nsecond line", tags: ["x", "y"], importance: 5, confidence: 0.5, semanticType: "concept", position: { x: 10.5, y: -20 }, size: { width: 300, height: 150 }, metadata: { k: [1, 2] } }, as(alice))).node!;
  const b = (await c.createNode({ projectId: source, title: "Child", content: "Child", parentId: a.id, position: { x: 400, y: 0 } }, as(alice))).node!;
  const d = (await c.createNode({ projectId: source, title: "中文节点", content: "机器学习", position: { x: 0, y: 300 } }, as(alice))).node!;
  await c.updateNode({ id: a.id, content: "The **core** idea, edited\nsecond line" }, as(alice));
  await store.clients.connections.createConnection({ projectId: source, sourceNodeId: a.id, targetNodeId: b.id, type: "CONNECTION_TYPE_EXPAND" as never, label: "expands", weight: 0.7 }, as(alice));
  await store.clients.connections.createConnection({ projectId: source, sourceNodeId: d.id, targetNodeId: a.id, type: "CONNECTION_TYPE_REFERENCE" as never }, as(alice));
}, 60_000);

afterAll(() => store?.shutdown());

const exportOf = async (projectId: string, format: "sker" | "jsoncanvas", includeVersions = false, u = alice) =>
  JSON.parse((await store.clients.collab.exportProject({ projectId, format, includeVersions }, as(u))).document);

describe.each(["sker", "jsoncanvas"] as const)("%s round trip", (format) => {
  it("export → import → export gives the same canvas, with new ids, owned by the importer", async () => {
    const first = await exportOf(source, format, format === "sker");
    expect(first.nodes).toHaveLength(3);
    const { project } = await store.clients.collab.importProject({ format, document: JSON.stringify(first) }, as(bob));
    expect(project!.role).toBe("ROLE_OWNER");
    const second = await exportOf(project!.id, format, format === "sker", bob);
    expect(canonical(second, format)).toEqual(canonical(first, format));
    const oldIds = new Set(first.nodes.map((n: any) => n.id));
    expect(second.nodes.some((n: any) => oldIds.has(n.id))).toBe(false);
  });
});

describe("formats", () => {
  it("sker keeps every field, connections with type and weight, and versions when asked", async () => {
    const file = await exportOf(source, "sker", true);
    expect(file).toMatchObject({ format: "sker", version: 1, project: { name: "Source", description: "d", canvasData: { zoom: 2 }, settings: { theme: "dark" } } });
    const idea = file.nodes.find((n: any) => n.title === "Idea");
    expect(idea).toMatchObject({ importance: 5, confidence: 0.5, semanticType: "concept", tags: ["x", "y"], position: { x: 10.5, y: -20 }, metadata: { k: [1, 2] }, version: 2 });
    expect(idea.versions.map((v: any) => [v.version, v.changeType])).toEqual([[1, "create"], [2, "edit"]]);
    expect(file.nodes.find((n: any) => n.title === "Child").parentId).toBe(idea.id);
    expect(file.connections.find((c: any) => c.label === "expands")).toMatchObject({ type: "expand", weight: 0.7 });
    expect((await exportOf(source, "sker")).nodes[0].versions).toBeUndefined();
  });

  it("JSON Canvas has text nodes with integer geometry and edges with labels", async () => {
    const file = await exportOf(source, "jsoncanvas");
    const idea = file.nodes.find((n: any) => n.text.startsWith("# Idea"));
    expect(idea).toEqual({ id: expect.any(String), type: "text", x: 11, y: -20, width: 300, height: 150, text: "# Idea\n\nThe **core** idea, edited\nsecond line" });
    // A title that is the content's first line is not repeated as a heading.
    expect(file.nodes.find((n: any) => n.text === "Child")).toBeDefined();
    expect(file.edges).toContainEqual({ id: expect.any(String), fromNode: idea.id, toNode: expect.any(String), label: "expands" });
  });

  it("imports another tool's JSON Canvas: groups, links, files and colors survive a round trip", async () => {
    const foreign = {
      nodes: [
        { id: "g", type: "group", x: 0, y: 0, width: 800, height: 600, label: "Area", color: "4" },
        { id: "t", type: "text", x: 20, y: 20, width: 200, height: 100, text: "plain note\nwith two lines" },
        { id: "l", type: "link", x: 300, y: 20, width: 200, height: 100, url: "https://jsoncanvas.org" },
        { id: "f", type: "file", x: 20, y: 300, width: 200, height: 100, file: "notes/a.md" },
      ],
      edges: [{ id: "e1", fromNode: "t", toNode: "l", fromSide: "right", toSide: "left", label: "see" }],
    };
    const { project } = await store.clients.collab.importProject({ format: "jsoncanvas", document: JSON.stringify(foreign), name: "Foreign" }, as(alice));
    expect(project!.name).toBe("Foreign");
    const back = await exportOf(project!.id, "jsoncanvas");
    const byType = (t: string) => back.nodes.find((n: any) => n.type === t);
    expect(byType("group")).toMatchObject({ label: "Area", color: "4", width: 800 });
    expect(byType("text")).toMatchObject({ text: "plain note\nwith two lines" });
    expect(byType("link")).toMatchObject({ url: "https://jsoncanvas.org" });
    expect(byType("file")).toMatchObject({ file: "notes/a.md" });
    expect(back.edges).toEqual([{ id: expect.any(String), fromNode: byType("text").id, toNode: byType("link").id, label: "see" }]);
  });

  it("duplicate copies the canvas into a new project of the caller's", async () => {
    await store.clients.projects.putMember({ projectId: source, userId: bob.id, role: "ROLE_VIEWER" as never }, as(alice));
    const { project } = await store.clients.collab.duplicateProject({ projectId: source }, as(bob));
    expect(project).toMatchObject({ name: "Source (copy)", role: "ROLE_OWNER" });
    expect(canonical(await exportOf(project!.id, "sker", false, bob), "sker").nodes).toEqual(canonical(await exportOf(source, "sker"), "sker").nodes);
  });
});

describe("bad files", () => {
  const cases: [string, "sker" | "jsoncanvas", unknown, string][] = [
    ["not JSON", "jsoncanvas", "{nope", "document"],
    ["an edge to a missing node", "jsoncanvas", { nodes: [{ id: "a", type: "text", x: 0, y: 0, width: 1, height: 1, text: "a" }], edges: [{ id: "e", fromNode: "a", toNode: "zz" }] }, "edges[0].toNode"],
    ["a node without x", "jsoncanvas", { nodes: [{ id: "a", type: "text", y: 0, width: 1, height: 1, text: "a" }] }, "nodes[0].x"],
    ["an unknown node type", "jsoncanvas", { nodes: [{ id: "a", type: "video", x: 0, y: 0, width: 1, height: 1 }] }, "nodes[0].type"],
    ["a repeated id", "jsoncanvas", { nodes: [1, 2].map(() => ({ id: "a", type: "text", x: 0, y: 0, width: 1, height: 1, text: "a" })) }, "nodes[1].id"],
    ["a NUL in text", "jsoncanvas", { nodes: [{ id: "a", type: "text", x: 0, y: 0, width: 1, height: 1, text: "a\u0000" }] }, "nodes[0].text"],
    ["the wrong format marker", "sker", { format: "other", version: 1 }, "format"],
    ["importance 9", "sker", { format: "sker", version: 1, nodes: [{ id: "a", title: "t", importance: 9 }] }, "nodes[0].importance"],
    ["a parent cycle", "sker", { format: "sker", version: 1, nodes: [{ id: "a", title: "a", parentId: "b" }, { id: "b", title: "b", parentId: "a" }] }, "nodes[0].parentId"],
    ["a connection type that does not exist", "sker", { format: "sker", version: 1, nodes: [{ id: "a", title: "a" }, { id: "b", title: "b" }], connections: [{ id: "c", sourceNodeId: "a", targetNodeId: "b", type: "likes" }] }, "connections[0].type"],
  ];
  it.each(cases)("%s: 400 naming the field, nothing created", async (_name, format, file, field) => {
    const before = await projectCount();
    const document = typeof file === "string" ? file : JSON.stringify(file);
    await expectAppError(store.clients.collab.importProject({ format, document }, as(alice)), "VALIDATION_ERROR", field);
    expect(await projectCount()).toBe(before);
  });

  it("an unknown format is refused", async () => {
    await expectAppError(store.clients.collab.importProject({ format: "xml", document: "{}" }, as(alice)), "VALIDATION_ERROR", "format");
    await expectAppError(store.clients.collab.exportProject({ projectId: source, format: "xml" }, as(alice)), "VALIDATION_ERROR", "format");
  });
});

describe("quotas", () => {
  it("an import or duplicate past the nodes-per-project quota is QUOTA_EXCEEDED and creates nothing", async () => {
    const small = await startTestStore({ redis: false, env: { QUOTA_NODES_PER_PROJECT: "2" } });
    try {
      const u = await small.register("q");
      const nodes = [1, 2, 3].map((i) => ({ id: `n${i}`, type: "text", x: i, y: 0, width: 10, height: 10, text: `note ${i}` }));
      const count = async () => Number((await small.db.selectFrom("projects").select((eb) => eb.fn.countAll().as("n")).executeTakeFirstOrThrow()).n);
      const before = await count();
      const err = await expectAppError(small.clients.collab.importProject({ format: "jsoncanvas", document: JSON.stringify({ nodes }) }, { token: u.token }), "QUOTA_EXCEEDED");
      expect(err.details).toMatchObject({ quota: "nodesPerProject", limit: 2 });
      expect(await count()).toBe(before);
      const ok = await small.clients.collab.importProject({ format: "jsoncanvas", document: JSON.stringify({ nodes: nodes.slice(0, 2) }) }, { token: u.token });
      expect(ok.project!.id).toBeTruthy();
    } finally {
      await small.shutdown();
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectAppError, startTestStore, type TestStore, type TestUser } from "@sker/testkit/store";

// Search over real gRPC, on PostgreSQL and on PGlite (the embedded default): English words,
// Chinese without spaces, ranking, snippets with highlight offsets, tenancy, bad queries.

describe.each(["pg", "pglite"] as const)("search on %s", (driver) => {
  let store: TestStore;
  let alice: TestUser;
  let bob: TestUser;
  let p1: string;
  let p2: string;
  let secret: string;
  const ids: Record<string, string> = {};
  const as = (u: TestUser) => ({ token: u.token });

  async function node(projectId: string, title: string, content: string, u = alice) {
    const { node } = await store.clients.nodes.createNode({ projectId, title, content }, as(u));
    ids[title] = node!.id;
    return node!.id;
  }

  beforeAll(async () => {
    store = await startTestStore({ driver, redis: false });
    alice = await store.register("alice");
    bob = await store.register("bob");
    p1 = (await store.clients.projects.createProject({ name: "Research notes" }, as(alice))).project!.id;
    p2 = (await store.clients.projects.createProject({ name: "机器学习项目" }, as(alice))).project!.id;
    const q = (await store.clients.projects.createProject({ name: "Bob's" }, as(bob))).project!.id;
    await node(p1, "Transformer architecture", "Attention is all you need: the transformer replaces recurrence with self-attention.");
    await node(p1, "Reading list", "Papers about attention mechanisms and the Transformer, in order.");
    await node(p1, "Groceries", "Milk, eggs, bread.");
    await node(p2, "机器学习笔记", "今天我们讨论深度学习中的注意力机制，以及它在自然语言处理中的应用。");
    await node(p2, "会议记录", "讨论了数据清洗的流程。机器学习模型的训练需要更多数据。");
    secret = await node(q, "Transformer secrets", "Bob's private transformer notes.", bob);
    const hidden = await node(p1, "Deleted transformer", "transformer text that was deleted");
    await store.clients.nodes.deleteNode({ id: hidden }, as(alice));
    // A new schema makes PGlite build its template database first (initdb in WASM, slow under load).
  }, 180_000);

  afterAll(() => store?.shutdown());

  it("finds English words in title and content across the caller's projects, title hits ranked first", async () => {
    const res = await store.clients.collab.search({ query: "transformer" }, as(alice));
    expect(res.hits.map((h) => h.nodeId)).toEqual([ids["Transformer architecture"], ids["Reading list"]]);
    const top = res.hits[0];
    expect(top.projectId).toBe(p1);
    expect(top.projectName).toBe("Research notes");
    expect(top.title).toBe("Transformer architecture");
    expect(top.score).toBeGreaterThan(res.hits[1].score);
    // Every highlight covers the word, whatever its case in the text.
    expect(top.highlights.length).toBeGreaterThan(0);
    for (const h of top.highlights) expect(top.snippet.slice(h.start, h.end).toLowerCase()).toBe("transformer");
  });

  it("needs every word of a multi-word query", async () => {
    const res = await store.clients.collab.search({ query: "attention order" }, as(alice));
    expect(res.hits.map((h) => h.nodeId)).toEqual([ids["Reading list"]]);
  });

  it("finds Chinese text without spaces, two-character words too", async () => {
    const res = await store.clients.collab.search({ query: "注意力机制" }, as(alice));
    expect(res.hits.map((h) => h.nodeId)).toEqual([ids["机器学习笔记"]]);
    expect(res.hits[0].projectName).toBe("机器学习项目");
    const [h] = res.hits[0].highlights;
    expect(res.hits[0].snippet.slice(h.start, h.end)).toBe("注意力机制");
    // "机器学习" is in one title and one content: the title hit first.
    const two = await store.clients.collab.search({ query: "机器学习" }, as(alice));
    expect(two.hits.map((x) => x.nodeId)).toEqual([ids["机器学习笔记"], ids["会议记录"]]);
    const short = await store.clients.collab.search({ query: "数据" }, as(alice));
    expect(short.hits.map((x) => x.nodeId)).toEqual([ids["会议记录"]]);
  });

  it("never shows another tenant's nodes or deleted ones, even when the project is named", async () => {
    const mine = await store.clients.collab.search({ query: "transformer" }, as(alice));
    expect(mine.hits.map((h) => h.nodeId)).not.toContain(secret);
    expect(mine.hits.map((h) => h.title)).not.toContain("Deleted transformer");
    const bobs = await store.clients.collab.search({ query: "transformer" }, as(bob));
    expect(bobs.hits.map((h) => h.nodeId)).toEqual([secret]);
    const only = await store.clients.collab.search({ query: "transformer", projectId: p2 }, as(alice));
    expect(only.hits).toEqual([]);
  });

  it("pages with a cursor", async () => {
    const first = await store.clients.collab.search({ query: "transformer", page: { limit: 1, cursor: "" } }, as(alice));
    expect(first.hits).toHaveLength(1);
    expect(first.nextCursor).not.toBe("");
    const second = await store.clients.collab.search({ query: "transformer", page: { limit: 1, cursor: first.nextCursor } }, as(alice));
    expect(second.hits.map((h) => h.nodeId)).toEqual([ids["Reading list"]]);
    expect(second.nextCursor).toBe("");
  });

  it("treats LIKE wildcards as text", async () => {
    expect((await store.clients.collab.search({ query: "%" }, as(alice))).hits).toEqual([]);
    expect((await store.clients.collab.search({ query: "_" }, as(alice))).hits).toEqual([]);
  });

  it("refuses an empty, overlong or NUL query and a foreign cursor, naming the field", async () => {
    await expectAppError(store.clients.collab.search({ query: "  " }, as(alice)), "VALIDATION_ERROR", "q");
    await expectAppError(store.clients.collab.search({ query: "x".repeat(201) }, as(alice)), "VALIDATION_ERROR", "q");
    // Text no database can hold is refused at the gRPC door, naming the request field.
    await expectAppError(store.clients.collab.search({ query: "a\u0000b" }, as(alice)), "VALIDATION_ERROR", "query");
    await expectAppError(store.clients.collab.search({ query: "a", page: { limit: 10, cursor: "abc" } }, as(alice)), "VALIDATION_ERROR", "cursor");
    await expectAppError(store.clients.collab.search({ query: "a", projectId: "nope" }, as(alice)), "VALIDATION_ERROR", "projectId");
  });
});

import { Role } from "@sker/contracts/common/v1/common";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConnectionType } from "@sker/contracts/store/v1/connection";
import { NodeStatus } from "@sker/contracts/store/v1/node";
import { TaskPriority, TaskStatus, TaskType, type CreateTaskRequest, type TaskOutput } from "@sker/contracts/store/v1/task";
import type { Database } from "../src/db/schema.js";
import { expectAppError, startTestStore, type TestStore, type TestUser } from "@sker/testkit/store";
import { resourceOf } from "./support/events.js";

// TaskService over real gRPC against a real PostgreSQL: what the gateway (user token) and the
// broker (service token) see, including the exactly-once and lease rules under concurrency.

let store: TestStore;
let owner: TestUser;
let viewer: TestUser;
let stranger: TestUser;
let projectId: string;
let otherProjectId: string;
let broker: { token: string };
const as = (u: TestUser) => ({ token: u.token });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function count(table: keyof Database): Promise<number> {
  const row = await store.db.selectFrom(table).select((eb) => eb.fn.countAll().as("n")).executeTakeFirstOrThrow();
  return Number(row.n);
}
const counts = async () => ({ tasks: await count("tasks"), nodes: await count("nodes"), versions: await count("node_versions"), events: await count("events") });

async function node(title: string, pid = projectId, u = owner) {
  const req = { projectId: pid, title, content: `${title} content`, semanticType: "", importance: 0, status: NodeStatus.NODE_STATUS_UNSPECIFIED, tags: [], parentId: "" };
  return (await store.clients.nodes.createNode(req, as(u))).node!;
}
const taskReq = (over: Partial<CreateTaskRequest>): CreateTaskRequest => ({
  projectId,
  type: TaskType.TASK_TYPE_GENERATE,
  nodeId: "",
  sourceNodeIds: [],
  prompt: "",
  priority: TaskPriority.TASK_PRIORITY_UNSPECIFIED,
  idempotencyKey: "",
  ...over,
});
const submit = async (over: Partial<CreateTaskRequest>, u = owner) => (await store.clients.tasks.createTask(taskReq(over), await store.viaBroker(as(u)))).task!;
const output = (over: Partial<TaskOutput> = {}): TaskOutput => ({ title: "", content: "", tags: [], semanticType: "", importance: 0, confidence: 0, ...over });
const start = (id: string, workerId = "w1", leaseMs = 30_000) => store.clients.lifecycle.startTask({ id, workerId, leaseMs }, broker);
const complete = (id: string, out: TaskOutput, workerId = "w1") =>
  store.clients.lifecycle.completeTask({ id, workerId, output: out, usage: { inputTokens: 10, outputTokens: 20 }, provider: "local", model: "local-1" }, broker);
const lastEvents = async (n: number) =>
  (await store.db.selectFrom("events").select(["name", "data", "payload"]).where("project_id", "=", projectId).orderBy("seq", "desc").limit(n).execute())
    .reverse()
    .map((e) => ({ name: e.name, data: resourceOf(e) }));

beforeAll(async () => {
  store = await startTestStore({ driver: "pg" });
  [owner, viewer, stranger] = await Promise.all([store.register("owner"), store.register("viewer"), store.register("stranger")]);
  projectId = (await store.clients.projects.createProject({ name: "P", description: "", canvasData: {}, settings: {} }, as(owner))).project!.id;
  otherProjectId = (await store.clients.projects.createProject({ name: "Q", description: "", canvasData: {}, settings: {} }, as(stranger))).project!.id;
  await store.clients.projects.putMember({ projectId, userId: viewer.id, role: Role.ROLE_VIEWER }, as(owner));
  broker = { token: await store.serviceToken("broker") };
});
afterAll(async () => {
  await store?.shutdown();
});

describe("CreateTask validation: INVALID_ARGUMENT naming the field, nothing written", () => {
  it.each([
    ["generate without a prompt", "prompt", () => ({ prompt: "  " })],
    ["a prompt of 20,001 chars", "prompt", () => ({ prompt: "p".repeat(20_001) })],
    ["optimize without a node", "nodeId", () => ({ type: TaskType.TASK_TYPE_OPTIMIZE })],
    ["expand without a node", "nodeId", () => ({ type: TaskType.TASK_TYPE_EXPAND })],
    ["no type", "type", () => ({ type: TaskType.TASK_TYPE_UNSPECIFIED, prompt: "x" })],
    ["an unknown type", "type", () => ({ type: TaskType.UNRECOGNIZED, prompt: "x" })],
    ["an unknown priority", "priority", () => ({ prompt: "x", priority: TaskPriority.UNRECOGNIZED })],
    ["temperature 3", "options.temperature", () => ({ prompt: "x", options: { model: "", temperature: 3 } })],
    ["maxTokens 0", "options.maxTokens", () => ({ prompt: "x", options: { model: "", maxTokens: 0 } })],
    ["maxTokens 32,001", "options.maxTokens", () => ({ prompt: "x", options: { model: "", maxTokens: 32_001 } })],
    ["a malformed node id", "nodeId", () => ({ prompt: "x", nodeId: "n" })],
    ["a malformed source id", "sourceNodeIds[1]", () => ({ prompt: "x", sourceNodeIds: [crypto.randomUUID(), "s"] })],
    ["an unknown node", "nodeId", () => ({ type: TaskType.TASK_TYPE_ANALYZE, nodeId: crypto.randomUUID() })],
  ] as const)("%s → %s", async (_name, field, over) => {
    const before = await counts();
    await expectAppError(store.clients.tasks.createTask(taskReq(over()), await store.viaBroker(as(owner))), "VALIDATION_ERROR", field);
    expect(await counts()).toEqual(before);
  });

  it("fusion needs 2 distinct nodes of the project", async () => {
    const [a, b] = [await node("fa"), await node("fb")];
    const theirs = await node("theirs", otherProjectId, stranger);
    const before = await counts();
    const fusion = async (ids: string[]) => store.clients.tasks.createTask(taskReq({ type: TaskType.TASK_TYPE_FUSION, sourceNodeIds: ids }), await store.viaBroker(as(owner)));
    await expectAppError(fusion([a.id]), "VALIDATION_ERROR", "sourceNodeIds");
    await expectAppError(fusion([a.id, a.id]), "VALIDATION_ERROR", "sourceNodeIds");
    await expectAppError(fusion([a.id, theirs.id]), "VALIDATION_ERROR", "sourceNodeIds[1]");
    expect(await counts()).toEqual(before);
    expect((await fusion([a.id, b.id])).created).toBe(true);
  });

  it("CreateTask is the broker's: a user's own token, or another service relaying, is PERMISSION_DENIED and creates nothing", async () => {
    const count = async () => Number((await store.db.selectFrom("tasks").select((e) => e.fn.countAll().as("n")).where("project_id", "=", projectId).executeTakeFirstOrThrow()).n);
    const before = await count();
    await expectAppError(store.clients.tasks.createTask(taskReq({ prompt: "direct" }), as(owner)), "FORBIDDEN");
    const gateway = { token: await store.serviceToken("gateway"), onBehalfOf: owner.token };
    await expectAppError(store.clients.tasks.createTask(taskReq({ prompt: "relayed by the wrong service" }), gateway), "FORBIDDEN");
    expect(await count()).toBe(before);
    expect((await submit({ prompt: "relayed by the broker" })).status).toBe(TaskStatus.TASK_STATUS_QUEUED);
    expect(await count()).toBe(before + 1);
  });

  it("roles: a viewer cannot submit, a stranger sees nothing, a service token is no user", async () => {
    await expectAppError(store.clients.tasks.createTask(taskReq({ prompt: "x" }), await store.viaBroker(as(viewer))), "FORBIDDEN");
    await expectAppError(store.clients.tasks.createTask(taskReq({ prompt: "x" }), await store.viaBroker(as(stranger))), "NOT_FOUND");
    await expectAppError(store.clients.tasks.createTask(taskReq({ prompt: "x" }), broker), "FORBIDDEN");
    const t = await submit({ prompt: "mine" });
    await expectAppError(store.clients.tasks.getTask({ id: t.id }, as(stranger)), "NOT_FOUND");
    await expectAppError(store.clients.lifecycle.startTask({ id: t.id, workerId: "w", leaseMs: 1000 }, as(owner)), "UNAUTHENTICATED");
    expect((await store.clients.tasks.getTask({ id: t.id }, as(viewer))).task!.id).toBe(t.id);
  });
});

describe("CreateTask, idempotency, cancel, list", () => {
  it("queues with defaults and a task.queued event", async () => {
    const t = await submit({ prompt: "write", options: { model: "m", temperature: 0.5, maxTokens: 100 } });
    expect(t).toMatchObject({ status: "TASK_STATUS_QUEUED", priority: "TASK_PRIORITY_NORMAL", attempts: 0, prompt: "write", createdBy: owner.id });
    expect(t.options).toEqual({ model: "m", temperature: 0.5, maxTokens: 100 });
    const [ev] = await lastEvents(1);
    expect(ev).toMatchObject({ name: "task.queued", data: { id: t.id, status: "TASK_STATUS_QUEUED", type: "TASK_TYPE_GENERATE", priority: "TASK_PRIORITY_NORMAL" } });
  });

  it("the same key from the same user answers the first task, even when 10 race", async () => {
    const before = await counts();
    const key = `key-${crypto.randomUUID()}`;
    const all = await Promise.all(Array.from({ length: 10 }, async () => store.clients.tasks.createTask(taskReq({ prompt: "once", idempotencyKey: key }), await store.viaBroker(as(owner)))));
    expect(new Set(all.map((r) => r.task!.id)).size).toBe(1);
    expect(all.filter((r) => r.created)).toHaveLength(1);
    expect(await counts()).toMatchObject({ tasks: before.tasks + 1, events: before.events + 1 });
    const again = await store.clients.tasks.createTask(taskReq({ prompt: "different body", idempotencyKey: key }), await store.viaBroker(as(owner)));
    expect(again).toMatchObject({ created: false, task: { id: all[0].task!.id, prompt: "once" } });
    // Keys are per user.
    await store.clients.projects.putMember({ projectId, userId: stranger.id, role: Role.ROLE_EDITOR }, as(owner));
    const theirs = await store.clients.tasks.createTask(taskReq({ prompt: "once", idempotencyKey: key }), await store.viaBroker(as(stranger)));
    expect(theirs.created).toBe(true);
    await store.clients.projects.removeMember({ projectId, userId: stranger.id }, as(owner));
  });

  it("a key reused for another project is CONFLICT: it never answers a task of a project the caller may have left", async () => {
    const key = `key-${crypto.randomUUID()}`;
    await store.clients.projects.putMember({ projectId, userId: stranger.id, role: Role.ROLE_EDITOR }, as(owner));
    const first = await store.clients.tasks.createTask(taskReq({ prompt: "secret plan", idempotencyKey: key }), await store.viaBroker(as(stranger)));
    await store.clients.projects.removeMember({ projectId, userId: stranger.id }, as(owner));
    const before = await counts();
    const err = await store.clients.tasks.createTask(taskReq({ projectId: otherProjectId, prompt: "x", idempotencyKey: key }), await store.viaBroker(as(stranger))).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "CONFLICT", details: { field: "idempotencyKey" } });
    expect(JSON.stringify(err)).not.toContain(first.task!.id);
    expect(await counts()).toEqual(before);
  });

  it("the task lifecycle is the broker's: the gateway's service token is PERMISSION_DENIED", async () => {
    const t = await submit({ prompt: "mine" });
    const gateway = { token: await store.serviceToken("gateway") };
    await expect(store.clients.lifecycle.startTask({ id: t.id, workerId: "gw", leaseMs: 30_000 }, gateway)).rejects.toMatchObject({ code: "FORBIDDEN" });
    await expect(store.clients.lifecycle.reclaimTasks({ queuedAfterMs: 1, limit: 10 }, gateway)).rejects.toMatchObject({ code: "FORBIDDEN" });
    await expect(store.clients.users.register({ email: "x@example.com", username: "brokerx", password: "long enough pw", displayName: "" }, broker)).rejects.toMatchObject({ code: "FORBIDDEN" });
    expect((await store.clients.tasks.getTask({ id: t.id }, as(owner))).task!.status).toBe("TASK_STATUS_QUEUED");
  });

  it("a broker of the previous release still runs a task through TaskService's deprecated lifecycle RPCs", async () => {
    const t = await submit({ prompt: "old broker" });
    expect((await store.clients.tasks.startTask({ id: t.id, workerId: "old", leaseMs: 30_000 }, broker)).started).toBe(true);
    expect((await store.clients.tasks.renewLease({ id: t.id, workerId: "old", leaseMs: 30_000 }, broker)).ok).toBe(true);
    const done = await store.clients.tasks.completeTask({ id: t.id, workerId: "old", output: output({ title: "Old", content: "still works" }) }, broker);
    expect(done).toMatchObject({ applied: true, task: { status: "TASK_STATUS_COMPLETED" } });
    expect((await store.clients.lifecycle.completeTask({ id: t.id, workerId: "old", output: output({ content: "again" }) }, broker)).applied).toBe(false);
    await expect(store.clients.tasks.startTask({ id: t.id, workerId: "gw", leaseMs: 30_000 }, { token: await store.serviceToken("gateway") })).rejects.toMatchObject({ code: "FORBIDDEN" });
  });

  it("cancels a queued or running task once; a finished one is FAILED_PRECONDITION", async () => {
    const t = await submit({ prompt: "stop me" });
    const c = (await store.clients.tasks.cancelTask({ id: t.id }, as(owner))).task!;
    expect(c.status).toBe("TASK_STATUS_CANCELLED");
    expect((await lastEvents(1))[0].name).toBe("task.cancelled");
    await expectAppError(store.clients.tasks.cancelTask({ id: t.id }, as(owner)), "FAILED_PRECONDITION");
    await expectAppError(store.clients.tasks.cancelTask({ id: t.id }, as(viewer)), "FORBIDDEN");
    expect((await start(t.id)).started).toBe(false);
    // A running task's worker learns of the cancel at its next renewal.
    const r = await submit({ prompt: "running" });
    expect((await start(r.id, "w9")).started).toBe(true);
    await store.clients.tasks.cancelTask({ id: r.id }, as(owner));
    expect(await store.clients.lifecycle.renewLease({ id: r.id, workerId: "w9", leaseMs: 1000 }, broker)).toEqual({ ok: false, status: "TASK_STATUS_CANCELLED" });
    expect((await complete(r.id, output({ content: "late" }), "w9")).applied).toBe(false);
  });

  it("lists newest first, filtered by status, paged", async () => {
    const pid = (await store.clients.projects.createProject({ name: "L", description: "", canvasData: {}, settings: {} }, as(owner))).project!.id;
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push((await submit({ projectId: pid, prompt: `t${i}` })).id);
    await store.clients.tasks.cancelTask({ id: ids[1] }, as(owner));
    const seen: string[] = [];
    let cursor = "";
    do {
      const page = await store.clients.tasks.listTasks({ projectId: pid, status: TaskStatus.TASK_STATUS_UNSPECIFIED, page: { limit: 2, cursor } }, as(owner));
      seen.push(...page.tasks.map((t) => t.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
    const cancelled = await store.clients.tasks.listTasks({ projectId: pid, status: TaskStatus.TASK_STATUS_CANCELLED, page: undefined }, as(owner));
    expect(cancelled.tasks.map((t) => t.id)).toEqual([ids[1]]);
    await expectAppError(store.clients.tasks.listTasks({ projectId: pid, status: TaskStatus.UNRECOGNIZED, page: undefined }, as(owner)), "VALIDATION_ERROR", "status");
  });
});

describe("StartTask and leases", () => {
  it("takes the lease once and answers the target and its upstream nodes in creation order", async () => {
    const [u1, u2, target, downstream, hidden] = [await node("u1"), await node("u2"), await node("target"), await node("down"), await node("hidden")];
    const link = (s: string, t: string) =>
      store.clients.connections.createConnection({ projectId, sourceNodeId: s, targetNodeId: t, type: ConnectionType.CONNECTION_TYPE_INPUT, label: "" }, as(owner));
    await link(u2.id, target.id);
    await link(u1.id, target.id);
    await link(target.id, downstream.id);
    await link(hidden.id, target.id);
    await store.clients.nodes.deleteNode({ id: hidden.id, permanent: false }, as(owner));
    const t = await submit({ type: TaskType.TASK_TYPE_OPTIMIZE, nodeId: target.id });

    const s = await start(t.id, "w1");
    expect(s.started).toBe(true);
    expect(s.task).toMatchObject({ status: "TASK_STATUS_RUNNING", attempts: 1 });
    expect(s.task!.startedAt).toBeInstanceOf(Date);
    expect(s.node!.id).toBe(target.id);
    expect(s.context.map((n) => n.title)).toEqual(["u1", "u2"]);
    expect((await lastEvents(1))[0]).toMatchObject({ name: "task.started", data: { id: t.id, status: "TASK_STATUS_RUNNING", attempts: 1 } });

    const other = await start(t.id, "w2");
    expect(other).toMatchObject({ started: false, task: { status: "TASK_STATUS_RUNNING" }, context: [] });
    expect(await store.clients.lifecycle.renewLease({ id: t.id, workerId: "w2", leaseMs: 1000 }, broker)).toEqual({ ok: false, status: "TASK_STATUS_RUNNING" });
    expect(await store.clients.lifecycle.renewLease({ id: t.id, workerId: "w1", leaseMs: 1000 }, broker)).toEqual({ ok: true, status: "TASK_STATUS_RUNNING" });
  });

  it("the same worker asking again (its first answer lost) gets the task again: same attempt, no second event", async () => {
    const t = await submit({ prompt: "answer lost on the way" });
    const first = await start(t.id, "w-same");
    const before = await counts();
    const again = await start(t.id, "w-same");
    expect(again).toMatchObject({ started: true, task: { id: t.id, status: "TASK_STATUS_RUNNING", attempts: first.task!.attempts } });
    expect(await counts()).toEqual(before);
    expect(await start(t.id, "w-other")).toMatchObject({ started: false });
    const done = await complete(t.id, output({ title: "T", content: "C" }), "w-same");
    expect(done.applied).toBe(true);
  });

  it("a lapsed lease can be taken by another worker (attempts grow); the first then cannot complete", async () => {
    const n = await node("leased");
    const t = await submit({ type: TaskType.TASK_TYPE_OPTIMIZE, nodeId: n.id });
    expect((await start(t.id, "slow", 50)).started).toBe(true);
    await sleep(120);
    const s = await start(t.id, "fast");
    expect(s).toMatchObject({ started: true, task: { attempts: 2 } });
    const before = await counts();
    expect((await complete(t.id, output({ content: "stale" }), "slow")).applied).toBe(false);
    expect(await counts()).toEqual(before);
    expect((await complete(t.id, output({ content: "fresh" }), "fast")).applied).toBe(true);
  });

  it("bad lease requests are refused by field", async () => {
    const t = await submit({ prompt: "x" });
    await expectAppError(store.clients.lifecycle.startTask({ id: t.id, workerId: "", leaseMs: 1000 }, broker), "VALIDATION_ERROR", "workerId");
    await expectAppError(store.clients.lifecycle.startTask({ id: t.id, workerId: "w", leaseMs: 0 }, broker), "VALIDATION_ERROR", "leaseMs");
    await expectAppError(store.clients.lifecycle.startTask({ id: "t", workerId: "w", leaseMs: 10 }, broker), "VALIDATION_ERROR", "id");
    await expectAppError(store.clients.lifecycle.startTask({ id: crypto.randomUUID(), workerId: "w", leaseMs: 10 }, broker), "NOT_FOUND");
    await expectAppError(store.clients.lifecycle.startTask({ id: t.id, workerId: "w", leaseMs: 10, modelWindowChars: { tiny: 0 } }, broker), "VALIDATION_ERROR", "modelWindowChars.tiny");
    await expectAppError(store.clients.lifecycle.startTask({ id: t.id, workerId: "w", leaseMs: 10, modelWindowChars: { ["m".repeat(101)]: 4000 } }, broker), "VALIDATION_ERROR", "modelWindowChars");
    expect((await store.clients.tasks.getTask({ id: t.id }, as(owner))).task!.status).toBe("TASK_STATUS_QUEUED");
  });

  it("a task whose node is gone fails at start instead of running", async () => {
    const n = await node("doomed");
    const t = await submit({ type: TaskType.TASK_TYPE_ANALYZE, nodeId: n.id });
    await store.clients.nodes.deleteNode({ id: n.id, permanent: false }, as(owner));
    const s = await start(t.id);
    expect(s).toMatchObject({ started: false, task: { status: "TASK_STATUS_FAILED", error: { code: "NODE_NOT_FOUND" } } });
  });
});

describe("CompleteTask applies the output once, per type", () => {
  it("10 concurrent completes of one optimize: one applies, one version, one task.completed", async () => {
    const n = await node("draft");
    const t = await submit({ type: TaskType.TASK_TYPE_OPTIMIZE, nodeId: n.id });
    await start(t.id);
    const results = await Promise.all(Array.from({ length: 10 }, () => complete(t.id, output({ title: "Polished", content: "better text", tags: ["ai"] }))));
    expect(results.filter((r) => r.applied)).toHaveLength(1);
    expect(results.every((r) => r.task!.status === "TASK_STATUS_COMPLETED")).toBe(true);
    const done = results.find((r) => r.applied)!.task!;
    expect(done).toMatchObject({ resultNodeId: n.id, usage: { inputTokens: 10, outputTokens: 20 }, provider: "local", model: "local-1" });
    expect(done.result).toMatchObject({ title: "Polished", content: "better text" });
    const after = (await store.clients.nodes.getNode({ id: n.id }, as(owner))).node!;
    // Version 2 was the node turning `processing` at start (no content change, no version row).
    expect(after).toMatchObject({ title: "Polished", content: "better text", tags: ["ai"], version: 3, status: "NODE_STATUS_COMPLETED" });
    const versions = await store.db.selectFrom("node_versions").selectAll().where("node_id", "=", n.id).orderBy("version").execute();
    expect(versions.map((v) => [v.version, v.change_type, v.task_id])).toEqual([
      [1, "create", null],
      [3, "ai_optimize", t.id],
    ]);
    const completed = await store.db.selectFrom("events").select("name").where("project_id", "=", projectId).where("name", "=", "task.completed").where(
      (eb) => eb.fn("jsonb_extract_path_text", ["payload", eb.val("task"), eb.val("id")]),
      "=",
      t.id,
    ).execute();
    expect(completed).toHaveLength(1);
  });

  it("generate without a node creates one linked from each source with `input` connections", async () => {
    const [s1, s2] = [await node("s1"), await node("s2")];
    const t = await submit({ prompt: "write about s", sourceNodeIds: [s1.id, s2.id] });
    expect((await start(t.id)).context.map((n) => n.title)).toEqual(["s1", "s2"]);
    const r = await complete(t.id, output({ title: "Generated", content: "words", tags: ["g"] }));
    const created = (await store.clients.nodes.getNode({ id: r.task!.resultNodeId }, as(owner))).node!;
    expect(created).toMatchObject({ title: "Generated", content: "words", aiGenerated: true, createdBy: owner.id, version: 1 });
    const links = await store.clients.connections.listConnections({ projectId, nodeId: created.id, page: undefined }, as(owner));
    // Written in one transaction, so they share created_at and list in id order.
    expect(links.connections.map((c) => [c.sourceNodeId, c.type]).sort()).toEqual(
      [
        [s1.id, "CONNECTION_TYPE_INPUT"],
        [s2.id, "CONNECTION_TYPE_INPUT"],
      ].sort(),
    );
    const names = (await lastEvents(4)).map((e) => e.name);
    expect(names).toEqual(["node.created", "connection.created", "connection.created", "task.completed"]);
  });

  it("generate onto a node rewrites it as ai_generate; a blank title keeps the old one", async () => {
    const n = await node("keep me");
    const t = await submit({ prompt: "fill", nodeId: n.id });
    await start(t.id);
    await complete(t.id, output({ content: "filled" }));
    expect((await store.clients.nodes.getNode({ id: n.id }, as(owner))).node).toMatchObject({ title: "keep me", content: "filled", version: 3 });
    const [v] = (await store.clients.nodes.listNodeVersions({ nodeId: n.id, page: { limit: 1, cursor: "" } }, as(owner))).versions;
    expect(v).toMatchObject({ changeType: "CHANGE_TYPE_AI_GENERATE", taskId: t.id });
  });

  it("analyze sets semantic type, importance, confidence and tags, with an ai_analyze version", async () => {
    const n = await node("analyse me");
    const t = await submit({ type: TaskType.TASK_TYPE_ANALYZE, nodeId: n.id });
    await start(t.id);
    await complete(t.id, output({ semanticType: "idea", importance: 5, confidence: 0.7, tags: ["x", "y"] }));
    expect((await store.clients.nodes.getNode({ id: n.id }, as(owner))).node).toMatchObject({
      title: "analyse me",
      semanticType: "idea",
      importance: 5,
      confidence: 0.7,
      tags: ["x", "y"],
      version: 3,
    });
    const [v] = (await store.clients.nodes.listNodeVersions({ nodeId: n.id, page: { limit: 1, cursor: "" } }, as(owner))).versions;
    expect(v.changeType).toBe("CHANGE_TYPE_AI_ANALYZE");
  });

  it("expand creates a child with an `expand` connection; fusion a node with a `fusion` connection per source", async () => {
    const p = await node("parent");
    const e = await submit({ type: TaskType.TASK_TYPE_EXPAND, nodeId: p.id });
    await start(e.id);
    const child = (await store.clients.nodes.getNode({ id: (await complete(e.id, output({ title: "Child", content: "more" }))).task!.resultNodeId }, as(owner))).node!;
    expect(child).toMatchObject({ title: "Child", parentId: p.id, aiGenerated: true });
    const [link] = (await store.clients.connections.listConnections({ projectId, nodeId: child.id, page: undefined }, as(owner))).connections;
    expect(link).toMatchObject({ sourceNodeId: p.id, targetNodeId: child.id, type: "CONNECTION_TYPE_EXPAND" });

    const [a, b] = [await node("fa"), await node("fb")];
    const f = await submit({ type: TaskType.TASK_TYPE_FUSION, sourceNodeIds: [b.id, a.id] });
    const s = await start(f.id);
    expect(s.context.map((n) => n.title)).toEqual(["fa", "fb"]);
    const fused = (await complete(f.id, output({ content: "first line\nsecond" }))).task!.resultNodeId;
    const fusedNode = (await store.clients.nodes.getNode({ id: fused }, as(owner))).node!;
    expect(fusedNode.title).toBe("first line"); // no title from the model: its first line
    const links = (await store.clients.connections.listConnections({ projectId, nodeId: fused, page: undefined }, as(owner))).connections;
    expect(links.map((c) => [c.sourceNodeId, c.type]).sort()).toEqual([
      [a.id, "CONNECTION_TYPE_FUSION"],
      [b.id, "CONNECTION_TYPE_FUSION"],
    ].sort());
  });

  it("a node deleted while the task ran fails the task; nothing is written onto it", async () => {
    const n = await node("vanishing");
    const t = await submit({ type: TaskType.TASK_TYPE_OPTIMIZE, nodeId: n.id });
    await start(t.id);
    await store.clients.nodes.deleteNode({ id: n.id, permanent: true }, as(owner));
    const r = await complete(t.id, output({ content: "too late" }));
    expect(r).toMatchObject({ applied: false, task: { status: "TASK_STATUS_FAILED", error: { code: "NODE_NOT_FOUND" } } });
  });

  it("an over-long output is trimmed to what a node holds rather than refused", async () => {
    const n = await node("long");
    const t = await submit({ type: TaskType.TASK_TYPE_OPTIMIZE, nodeId: n.id });
    await start(t.id);
    const r = await complete(t.id, output({ title: "T".repeat(600), content: "c".repeat(100_050) }));
    expect(r.applied).toBe(true);
    const after = (await store.clients.nodes.getNode({ id: n.id }, as(owner))).node!;
    expect([after.title.length, after.content.length]).toEqual([500, 100_000]);
  });

  it("output is required", async () => {
    const t = await submit({ prompt: "x" });
    await start(t.id);
    await expectAppError(store.clients.lifecycle.completeTask({ id: t.id, workerId: "w1", output: undefined, usage: undefined, provider: "", model: "" }, broker), "VALIDATION_ERROR", "output");
  });
});

describe("FailTask, ReclaimTasks, RequeueTask", () => {
  it("a retryable failure requeues with the error kept; a final one fails; a finished task stays", async () => {
    const t = await submit({ prompt: "flaky" });
    await start(t.id, "w1");
    const retry = (await store.clients.lifecycle.failTask({ id: t.id, workerId: "w1", error: { code: "PROVIDER_TIMEOUT", message: "slow" }, final: false }, broker)).task!;
    expect(retry).toMatchObject({ status: "TASK_STATUS_QUEUED", error: { code: "PROVIDER_TIMEOUT", message: "slow" }, attempts: 1 });
    expect((await lastEvents(1))[0]).toMatchObject({ name: "task.queued", data: { status: "TASK_STATUS_QUEUED" } });
    await start(t.id, "w2");
    // A worker that no longer holds the lease cannot fail it.
    expect((await store.clients.lifecycle.failTask({ id: t.id, workerId: "w1", error: { code: "X", message: "" }, final: true }, broker)).task!.status).toBe("TASK_STATUS_RUNNING");
    const failed = (await store.clients.lifecycle.failTask({ id: t.id, workerId: "w2", error: { code: "PROVIDER_ERROR", message: "boom" }, final: true }, broker)).task!;
    expect(failed).toMatchObject({ status: "TASK_STATUS_FAILED", attempts: 2, error: { code: "PROVIDER_ERROR" } });
    expect(failed.completedAt).toBeInstanceOf(Date);
    expect((await lastEvents(1))[0].name).toBe("task.failed");
    const again = (await store.clients.lifecycle.failTask({ id: t.id, workerId: "w2", error: { code: "OTHER", message: "" }, final: false }, broker)).task!;
    expect(again).toMatchObject({ status: "TASK_STATUS_FAILED", error: { code: "PROVIDER_ERROR" } });
    await expectAppError(store.clients.lifecycle.failTask({ id: t.id, workerId: "w2", error: undefined, final: true }, broker), "VALIDATION_ERROR", "error.code");

    const requeued = (await store.clients.lifecycle.requeueTask({ id: t.id }, broker)).task!;
    expect(requeued).toMatchObject({ status: "TASK_STATUS_QUEUED", attempts: 0, error: undefined });
    await expectAppError(store.clients.lifecycle.requeueTask({ id: t.id }, broker), "FAILED_PRECONDITION");
  });

  it("reclaims lapsed leases and stale queued tasks once, even with two brokers asking at once", async () => {
    // Earlier tests left tasks queued; park them so only this test's tasks are candidates.
    await store.db.updateTable("tasks").set({ status: "cancelled" }).where("status", "in", ["queued", "running"]).execute();
    const [lapsed, live, stale, fresh] = [await submit({ prompt: "a" }), await submit({ prompt: "b" }), await submit({ prompt: "c" }), await submit({ prompt: "d" })];
    await start(lapsed.id, "dead", 20);
    await start(live.id, "alive", 60_000);
    await store.db.updateTable("tasks").set({ enqueued_at: new Date(Date.now() - 120_000) }).where("id", "=", stale.id).execute();
    await sleep(60);

    const [r1, r2] = await Promise.all([
      store.clients.lifecycle.reclaimTasks({ queuedAfterMs: 60_000, limit: 10 }, broker),
      store.clients.lifecycle.reclaimTasks({ queuedAfterMs: 60_000, limit: 10 }, broker),
    ]);
    const ids = [...r1.tasks, ...r2.tasks].map((t) => t.id);
    expect(ids.sort()).toEqual([lapsed.id, stale.id].sort());
    expect([...r1.tasks, ...r2.tasks].every((t) => t.status === "TASK_STATUS_QUEUED")).toBe(true);
    expect((await store.clients.tasks.getTask({ id: fresh.id }, as(owner))).task!.status).toBe("TASK_STATUS_QUEUED");
    // The reclaimed ones were bumped: asking again hands out nothing.
    expect((await store.clients.lifecycle.reclaimTasks({ queuedAfterMs: 60_000, limit: 10 }, broker)).tasks).toEqual([]);
    // The dead worker's lease is gone: its renew and complete fail, a new worker starts it.
    expect((await store.clients.lifecycle.renewLease({ id: lapsed.id, workerId: "dead", leaseMs: 1000 }, broker)).ok).toBe(false);
    expect((await start(lapsed.id, "new")).task!.attempts).toBe(2);
    await expectAppError(store.clients.lifecycle.reclaimTasks({ queuedAfterMs: -1, limit: 10 }, broker), "VALIDATION_ERROR", "queuedAfterMs");
    await expectAppError(store.clients.lifecycle.reclaimTasks({ queuedAfterMs: 0, limit: 5000 }, broker), "VALIDATION_ERROR", "limit");
    await expectAppError(store.clients.lifecycle.reclaimTasks({ queuedAfterMs: 0, limit: 1 }, as(owner)), "UNAUTHENTICATED");
  });
});

describe("the node an AI task rewrites shows the task's state", () => {
  const statusOf = async (id: string) => (await store.clients.nodes.getNode({ id }, as(owner))).node!;

  it("processing while it runs, completed when written (one node.updated each)", async () => {
    const n = await node("to optimize");
    const t = await submit({ type: TaskType.TASK_TYPE_OPTIMIZE, nodeId: n.id });
    await start(t.id, "w-status");
    const running = await statusOf(n.id);
    expect(running).toMatchObject({ status: "NODE_STATUS_PROCESSING", version: n.version + 1 });
    const [updated, started] = await lastEvents(2);
    expect(updated).toMatchObject({ name: "node.updated", data: { id: n.id, status: "NODE_STATUS_PROCESSING" } });
    expect(started.name).toBe("task.started");
    await complete(t.id, output({ title: "Better", content: "Better content" }), "w-status");
    expect(await statusOf(n.id)).toMatchObject({ status: "NODE_STATUS_COMPLETED", title: "Better" });
  });

  it("error when the task fails for good, idle again when it is cancelled, a retry keeps it processing", async () => {
    const n = await node("to analyze");
    const failing = await submit({ type: TaskType.TASK_TYPE_ANALYZE, nodeId: n.id });
    await start(failing.id, "w-s2");
    await store.clients.lifecycle.failTask({ id: failing.id, workerId: "w-s2", error: { code: "PROVIDER_HTTP_503", message: "later" }, final: false }, broker);
    expect((await statusOf(n.id)).status).toBe("NODE_STATUS_PROCESSING");
    await start(failing.id, "w-s2");
    await store.clients.lifecycle.failTask({ id: failing.id, workerId: "w-s2", error: { code: "PROVIDER_HTTP_400", message: "bad" }, final: true }, broker);
    expect((await statusOf(n.id)).status).toBe("NODE_STATUS_ERROR");

    const cancelled = await submit({ type: TaskType.TASK_TYPE_OPTIMIZE, nodeId: n.id });
    await start(cancelled.id, "w-s3");
    expect((await statusOf(n.id)).status).toBe("NODE_STATUS_PROCESSING");
    await store.clients.tasks.cancelTask({ id: cancelled.id }, as(owner));
    expect((await statusOf(n.id)).status).toBe("NODE_STATUS_IDLE");
  });

  it("a node made by a task is completed; the nodes it came from are left alone", async () => {
    const a = await node("fuse a");
    const b = await node("fuse b");
    const t = await submit({ type: TaskType.TASK_TYPE_FUSION, sourceNodeIds: [a.id, b.id] });
    await start(t.id, "w-s4");
    const done = await complete(t.id, output({ title: "Fused", content: "Both" }), "w-s4");
    expect((await statusOf(done.task!.resultNodeId)).status).toBe("NODE_STATUS_COMPLETED");
    expect(await statusOf(a.id)).toMatchObject({ status: a.status, version: a.version });
  });
});

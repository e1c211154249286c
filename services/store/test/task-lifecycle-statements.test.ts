import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { EventPayload } from "@sker/contracts/store/v1/event";
import { NodeStatus } from "@sker/contracts/store/v1/node";
import { TaskPriority, TaskType, type CreateTaskRequest, type ModelCall } from "@sker/contracts/store/v1/task";
import { expectAppError, startTestStore, type TestStore, type TestUser } from "@sker/testkit/store";
import { payload } from "../src/events/payload.js";
import type { TaskRow } from "../src/db/schema.js";

// The lifecycle steps written as few statements (create: one, start: sker_start_task of
// migration 0013, complete: one last statement) on both engines: the events they write carry
// the task exactly as its row is after the step, and the running caps stay exact.

describe.each(["pg", "pglite"] as const)("task lifecycle statements on %s", (driver) => {
  let store: TestStore;
  let alice: TestUser;
  let projectId: string;
  let broker: { token: string };
  beforeAll(async () => {
    store = await startTestStore({ driver, redis: false });
    alice = await store.register("alice");
    projectId = (await store.clients.projects.createProject({ name: "P", description: "", canvasData: {}, settings: {} }, { token: alice.token })).project!.id;
    broker = { token: await store.serviceToken("broker") };
  }, 180_000);
  afterAll(() => store?.shutdown());

  const req = (over: Partial<CreateTaskRequest> = {}): CreateTaskRequest => ({
    projectId,
    type: TaskType.TASK_TYPE_GENERATE,
    nodeId: "",
    sourceNodeIds: [],
    prompt: "write",
    priority: TaskPriority.TASK_PRIORITY_HIGH,
    idempotencyKey: "",
    retryOf: "",
    options: { model: "m", temperature: 0.5, maxTokens: 100 },
    ...over,
  });
  const submit = async (over: Partial<CreateTaskRequest> = {}) => (await store.clients.tasks.createTask(req(over), await store.viaBroker({ token: alice.token }))).task!;
  const row = (id: string) => store.db.selectFrom("tasks").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
  /** What every reader of an event gets: the payload decoded (the gateway's fromJSON). */
  const decoded = (json: unknown) => EventPayload.fromJSON(json);
  const asTheRowSays = (r: TaskRow) => decoded(EventPayload.toJSON({ resource: payload.task(r) }));
  const eventsOf = async (taskId: string) =>
    (await store.db.selectFrom("events").select(["seq", "name", "payload"]).where("project_id", "=", projectId).orderBy("seq").execute()).filter(
      (e) => (decoded(e.payload).resource?.value as { id?: string }).id === taskId,
    );
  const call = (at: Date): ModelCall => ({ alias: "smart", provider: "p", model: "smart-1", inputTokens: 100, outputTokens: 50, costUsd: 0.1 + 0.2, outcome: "ok", message: "", durationMs: 12, at });

  it("each event is the task as its row stands after the step: queued, started, completed", async () => {
    const t = await submit({ idempotencyKey: `k-${driver}`, sourceNodeIds: [] });
    const queued = await row(t.id);
    let events = await eventsOf(t.id);
    expect(events.map((e) => e.name)).toEqual(["task.queued"]);
    expect(decoded(events[0].payload)).toEqual(asTheRowSays(queued));

    const started = await store.clients.lifecycle.startTask({ id: t.id, workerId: "w", leaseMs: 30_000, maxRunningPerUser: 5, maxRunningPerProject: 5 }, broker);
    expect(started.started).toBe(true);
    const running = await row(t.id);
    events = await eventsOf(t.id);
    expect(events.map((e) => e.name)).toEqual(["task.queued", "task.started"]);
    expect(decoded(events[1].payload)).toEqual(asTheRowSays(running));
    expect(running).toMatchObject({ status: "running", attempts: 1, lease_owner: "w" });

    const output = { title: "T", content: "C", tags: ["a"], semanticType: "", importance: 0, confidence: 0 };
    const done = await store.clients.lifecycle.completeTask(
      { id: t.id, workerId: "w", output, usage: { inputTokens: 100, outputTokens: 50, costUsd: 0.3 }, provider: "p", model: "smart-1", calls: [call(new Date())] },
      broker,
    );
    expect(done.applied).toBe(true);
    const completed = await row(t.id);
    events = await eventsOf(t.id);
    expect(events.map((e) => e.name)).toEqual(["task.queued", "task.started", "task.completed"]);
    expect(decoded(events[2].payload)).toEqual(asTheRowSays(completed));
    expect(completed).toMatchObject({ status: "completed", cost_usd: 0.1 + 0.2, input_tokens: 100 });
    // The node's event comes before the task's, in one run of seqs, and is the node as written.
    const all = await store.db.selectFrom("events").select(["seq", "name", "payload"]).where("project_id", "=", projectId).orderBy("seq", "desc").limit(2).execute();
    expect(all.map((e) => e.name)).toEqual(["task.completed", "node.created"]);
    expect(all[0].seq).toBe(all[1].seq + 1);
    const made = await store.db.selectFrom("nodes").selectAll().where("id", "=", completed.result_node_id!).executeTakeFirstOrThrow();
    expect(made).toMatchObject({ title: "T", content: "C", tags: ["a"], status: "completed", ai_generated: true, created_by: alice.id, version: 1 });
    expect(decoded(all[1].payload)).toEqual(decoded(EventPayload.toJSON({ resource: payload.node(made) })));
    const versions = await store.db.selectFrom("node_versions").selectAll().where("node_id", "=", made.id).execute();
    expect(versions).toMatchObject([{ version: 1, title: "T", content: "C", change_type: "ai_generate", created_by: alice.id, task_id: t.id, run_id: null }]);
  });

  it("concurrent completes of a generate write one node, one version and one task.completed; a stale worker writes nothing", async () => {
    const t = await submit({ prompt: "once" });
    await store.clients.lifecycle.startTask({ id: t.id, workerId: "w", leaseMs: 30_000 }, broker);
    const output = { title: "Once", content: "only once", tags: [], semanticType: "", importance: 0, confidence: 0 };
    const complete = (workerId: string) => store.clients.lifecycle.completeTask({ id: t.id, workerId, output, provider: "p", model: "m" }, broker);
    const answers = await Promise.all([complete("stale"), ...Array.from({ length: 6 }, () => complete("w"))]);
    expect(answers.filter((a) => a.applied)).toHaveLength(1);
    expect(answers[0].applied).toBe(false);
    const nodes = await store.db.selectFrom("nodes").select("id").where("project_id", "=", projectId).where("title", "=", "Once").execute();
    expect(nodes).toHaveLength(1);
    expect(await store.db.selectFrom("node_versions").select("version").where("node_id", "=", nodes[0].id).execute()).toHaveLength(1);
    expect((await eventsOf(t.id)).map((e) => e.name)).toEqual(["task.queued", "task.started", "task.completed"]);
  });

  it("sker_task_payload renders a task as taskToProto does, whatever the row holds", async () => {
    const t = await submit({ prompt: "p" });
    await store.db
      .updateTable("tasks")
      .set({
        status: "failed",
        attempts: 3,
        error_code: "AI_TIMEOUT",
        error_message: "slow",
        result: JSON.stringify({ title: "x", contextCut: { kept: 1, omitted: 2, truncated: 0 } }),
        calls: JSON.stringify([{ alias: "a", provider: "", model: "m", inputTokens: 0, outputTokens: 3, costUsd: 0, outcome: "ok", message: "", durationMs: 0, at: new Date().toISOString() }]),
        started_at: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6)),
        completed_at: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 7)),
        provider: "p",
        cost_usd: 1.25,
        retry_of: t.id,
        options: JSON.stringify({}),
      })
      .where("id", "=", t.id)
      .execute();
    for (const id of [t.id, (await submit({ prompt: "plain", options: undefined })).id]) {
      const { rows } = await sql<{ p: unknown }>`SELECT sker_task_payload(t) AS p FROM tasks t WHERE id = ${id}::uuid`.execute(store.db);
      expect(decoded(rows[0].p)).toEqual(asTheRowSays(await row(id)));
    }
  });

  it("caps are exact: concurrent starts of one user's tasks lease no more than the cap", async () => {
    const ids = await Promise.all(Array.from({ length: 8 }, (_, i) => submit({ prompt: `cap ${i}` }).then((t) => t.id)));
    const answers = await Promise.all(ids.map((id, i) => store.clients.lifecycle.startTask({ id, workerId: `w${i}`, leaseMs: 30_000, maxRunningPerUser: 3, maxRunningPerProject: 0 }, broker)));
    expect(answers.filter((a) => a.started)).toHaveLength(3);
    expect(answers.filter((a) => !a.started).map((a) => a.deferred)).toEqual(Array(5).fill("user"));
    const running = await store.db.selectFrom("tasks").select("id").where("status", "=", "running").where("id", "in", ids).execute();
    expect(running).toHaveLength(3);
    // A deferred start wrote nothing: no event for it, still queued.
    const deferredId = ids[answers.findIndex((a) => !a.started)];
    expect((await row(deferredId)).status).toBe("queued");
    expect((await eventsOf(deferredId)).map((e) => e.name)).toEqual(["task.queued"]);
    // The project cap, with the user's lifted.
    const more = await store.clients.lifecycle.startTask({ id: deferredId, workerId: "x", leaseMs: 30_000, maxRunningPerUser: 0, maxRunningPerProject: 3 }, broker);
    expect(more.deferred).toBe("project");
  });

  it("a task that rewrites its node marks it processing in the same statement: node.updated, then task.started, each the row as written", async () => {
    const node = (
      await store.clients.nodes.createNode(
        { projectId, title: "n", content: "c", semanticType: "", importance: 0, status: NodeStatus.NODE_STATUS_UNSPECIFIED, tags: [], parentId: "" },
        { token: alice.token },
      )
    ).node!;
    const t = await submit({ type: TaskType.TASK_TYPE_OPTIMIZE, nodeId: node.id, prompt: "" });
    const started = await store.clients.lifecycle.startTask({ id: t.id, workerId: "w", leaseMs: 30_000, maxRunningPerUser: 50 }, broker);
    expect(started.started).toBe(true);
    expect(started.node!.status).toBe(NodeStatus.NODE_STATUS_PROCESSING);
    expect(started.node!.version).toBe(node.version + 1);
    const marked = await store.db.selectFrom("nodes").selectAll().where("id", "=", node.id).executeTakeFirstOrThrow();
    const events = await store.db.selectFrom("events").select(["seq", "name", "payload", "actor_task_id"]).where("project_id", "=", projectId).orderBy("seq", "desc").limit(2).execute();
    expect(events.map((e) => e.name)).toEqual(["task.started", "node.updated"]);
    expect(events[0].seq).toBe(events[1].seq + 1);
    expect(decoded(events[1].payload)).toEqual(decoded(EventPayload.toJSON({ resource: payload.node(marked) })));
    expect(events[1].actor_task_id).toBe(t.id);
    expect(decoded(events[0].payload)).toEqual(asTheRowSays(await row(t.id)));
    // No version row for a status change.
    expect(await store.db.selectFrom("node_versions").select("version").where("node_id", "=", node.id).execute()).toEqual([{ version: 1 }]);

    // A node deleted before the start: nothing to mark; the start then fails the task (its input is gone).
    const gone = (
      await store.clients.nodes.createNode(
        { projectId, title: "g", content: "c", semanticType: "", importance: 0, status: NodeStatus.NODE_STATUS_UNSPECIFIED, tags: [], parentId: "" },
        { token: alice.token },
      )
    ).node!;
    const u = await submit({ type: TaskType.TASK_TYPE_ANALYZE, nodeId: gone.id, prompt: "" });
    await store.db.updateTable("nodes").set({ deleted_at: new Date() }).where("id", "=", gone.id).execute();
    const refused = await store.clients.lifecycle.startTask({ id: u.id, workerId: "w", leaseMs: 30_000 }, broker);
    expect(refused.started).toBe(false);
    expect((await eventsOf(u.id)).map((e) => e.name)).toEqual(["task.queued", "task.started", "task.failed"]);
    expect((await store.db.selectFrom("nodes").select("version").where("id", "=", gone.id).executeTakeFirstOrThrow()).version).toBe(gone.version);

    await expectAppError(store.clients.lifecycle.startTask({ id: crypto.randomUUID(), workerId: "w", leaseMs: 30_000 }, broker), "NOT_FOUND");
  });

  it("sker_node_payload renders a node as nodeToProto does, metadata nulls and recipe included", async () => {
    const node = (
      await store.clients.nodes.createNode(
        { projectId, title: "r", content: "c", semanticType: "s", importance: 3, status: NodeStatus.NODE_STATUS_UNSPECIFIED, tags: ["x", "y"], parentId: "" },
        { token: alice.token },
      )
    ).node!;
    await store.db
      .updateTable("nodes")
      .set({ metadata: JSON.stringify({ a: null, b: { c: [1, null] } }), recipe: JSON.stringify({ type: "generate", prompt: "p", options: { model: "m", temperature: 0.7 } }), position_x: 1.5, confidence: 0.25 })
      .where("id", "=", node.id)
      .execute();
    for (const deleted of [false, true]) {
      if (deleted) await store.db.updateTable("nodes").set({ deleted_at: new Date(), recipe: null }).where("id", "=", node.id).execute();
      const r = await store.db.selectFrom("nodes").selectAll().where("id", "=", node.id).executeTakeFirstOrThrow();
      const { rows } = await sql<{ p: unknown }>`SELECT sker_node_payload(n) AS p FROM nodes n WHERE id = ${node.id}::uuid`.execute(store.db);
      expect(decoded(rows[0].p)).toEqual(decoded(EventPayload.toJSON({ resource: payload.node(r) })));
    }
  });

  it("a repeated idempotency key writes one task, one dispatch and one event", async () => {
    const key = `same-${driver}`;
    const [a, b] = await Promise.all([submit({ idempotencyKey: key }), submit({ idempotencyKey: key })]);
    expect(a.id).toBe(b.id);
    expect((await eventsOf(a.id)).map((e) => e.name)).toEqual(["task.queued"]);
    expect(await store.db.selectFrom("task_dispatches").select("id").where("task_id", "=", a.id).execute()).toHaveLength(1);
  });
});

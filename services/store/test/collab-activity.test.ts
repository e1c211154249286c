import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TaskType } from "@sker/contracts/store/v1/task";
import { expectAppError, startTestStore, type TestStore, type TestUser } from "@sker/testkit/store";
import { resourceOf } from "./support/events.js";

// Every event records who caused it, the activity list shows it newest first with usernames,
// and a failed or cancelled task can be retried (retry_of) by an editor, nothing else.

let store: TestStore;
let alice: TestUser;
let bob: TestUser;
let projectId: string;
let broker: { token: string };
const as = (u: TestUser) => ({ token: u.token });

beforeAll(async () => {
  store = await startTestStore({ redis: false });
  alice = await store.register("alice");
  bob = await store.register("bob");
  broker = { token: await store.serviceToken("broker") };
  projectId = (await store.clients.projects.createProject({ name: "P" }, as(alice))).project!.id;
  await store.clients.projects.putMember({ projectId, userId: bob.id, role: "ROLE_EDITOR" as never }, as(alice));
}, 60_000);

afterAll(() => store?.shutdown());

const submit = async (u: TestUser, over: Record<string, unknown> = {}) =>
  (await store.clients.tasks.createTask({ projectId, type: TaskType.TASK_TYPE_GENERATE, prompt: "write", ...over }, await store.viaBroker(as(u)))).task!;

describe("actor and activity", () => {
  it("user writes carry {userId}; AI work carries {userId, taskId}; activity pages newest first with usernames", async () => {
    const node = (await store.clients.nodes.createNode({ projectId, title: "by bob" }, as(bob))).node!;
    const task = await submit(alice, { type: TaskType.TASK_TYPE_OPTIMIZE, nodeId: node.id, prompt: "" });
    await store.clients.lifecycle.startTask({ id: task.id, workerId: "w", leaseMs: 30_000 }, broker);
    await store.clients.lifecycle.completeTask(
      { id: task.id, workerId: "w", output: { title: "better", content: "better text", tags: [], semanticType: "", importance: 0, confidence: 0 }, provider: "local", model: "m" },
      broker,
    );

    const all = [];
    let cursor = "";
    do {
      const page = await store.clients.collab.listActivity({ projectId, page: { limit: 3, cursor } }, as(bob));
      expect(page.items.length).toBeLessThanOrEqual(3);
      all.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    const seqs = all.map((i) => i.event!.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
    expect(new Set(seqs).size).toBe(seqs.length);
    const of = (name: string) => all.filter((i) => i.event!.name === name);

    expect(of("member.updated")[0]).toMatchObject({ username: alice.username, event: { actor: { userId: alice.id, taskId: "" } } });
    expect(of("node.created")[0]).toMatchObject({ username: bob.username, event: { actor: { userId: bob.id, taskId: "" } } });
    expect(of("task.queued")[0]).toMatchObject({ username: alice.username, event: { actor: { userId: alice.id, taskId: "" } } });
    for (const name of ["task.started", "task.completed"]) {
      expect(of(name)[0]).toMatchObject({ username: alice.username, event: { actor: { userId: alice.id, taskId: task.id } } });
    }
    // The node the AI rewrote: node.updated events by the task, for the user who ran it.
    const aiWrites = of("node.updated").filter((i) => (resourceOf(i.event!) as { id: string }).id === node.id);
    expect(aiWrites.length).toBeGreaterThan(0);
    for (const w of aiWrites) expect(w.event!.actor).toEqual({ userId: alice.id, taskId: task.id });
    // Replay (ListEvents) carries the same actor.
    const replay = await store.clients.events.listEvents({ projectId, afterSeq: 0 }, as(bob));
    expect(replay.events.find((e) => e.name === "task.started")!.actor).toEqual({ userId: alice.id, taskId: task.id });
  });

  it("refuses a foreign cursor and a stranger", async () => {
    await expectAppError(store.clients.collab.listActivity({ projectId, page: { limit: 10, cursor: "abc" } }, as(alice)), "VALIDATION_ERROR", "page.cursor");
    const eve = await store.register("eve");
    await expectAppError(store.clients.collab.listActivity({ projectId }, as(eve)), "NOT_FOUND");
  });
});

describe("retry_of", () => {
  it("a cancelled task can be retried with retry_of recorded; a queued one cannot", async () => {
    const first = await submit(alice);
    await expectAppError(submit(bob, { retryOf: first.id }), "FAILED_PRECONDITION");
    await store.clients.tasks.cancelTask({ id: first.id }, as(alice));
    const again = await submit(bob, { retryOf: first.id });
    expect(again.retryOf).toBe(first.id);
    expect(again.id).not.toBe(first.id);
    expect((await store.clients.tasks.getTask({ id: again.id }, as(alice))).task!.retryOf).toBe(first.id);
  });

  it("a retry_of from another project, or no task, is a 400 on retryOf", async () => {
    const other = (await store.clients.projects.createProject({ name: "Q" }, as(alice))).project!.id;
    const foreign = (await store.clients.tasks.createTask({ projectId: other, type: TaskType.TASK_TYPE_GENERATE, prompt: "x" }, await store.viaBroker(as(alice)))).task!;
    await store.clients.tasks.cancelTask({ id: foreign.id }, as(alice));
    await expectAppError(submit(alice, { retryOf: foreign.id }), "VALIDATION_ERROR", "retryOf");
    await expectAppError(submit(alice, { retryOf: crypto.randomUUID() }), "VALIDATION_ERROR", "retryOf");
  });
});

import { afterAll, beforeAll, expect, it } from "vitest";
import { TaskPriority, TaskType, type CreateTaskRequest } from "@sker/contracts/store/v1/task";
import { expectAppError, startTestStore, type TestStore, type TestUser } from "@sker/testkit/store";

// The task queue's outbox: CreateTask and ReclaimTasks write the task's dispatch in the same
// transaction (a task that exists is always published, a refused one leaves nothing), and the
// brokers' relays claim (exclusively, for a lease), publish and ack them.

let store: TestStore;
let owner: TestUser;
let projectId: string;
let broker: { token: string };
const as = (u: TestUser) => ({ token: u.token });
const req = (over: Partial<CreateTaskRequest>): CreateTaskRequest => ({
  projectId,
  type: TaskType.TASK_TYPE_GENERATE,
  nodeId: "",
  sourceNodeIds: [],
  prompt: "p",
  priority: TaskPriority.TASK_PRIORITY_HIGH,
  idempotencyKey: "",
  ...over,
});
const dispatchRows = () => store.db.selectFrom("task_dispatches").selectAll().orderBy("id").execute();

beforeAll(async () => {
  store = await startTestStore({ driver: "pg" });
  owner = await store.register("owner");
  projectId = (await store.clients.projects.createProject({ name: "P", description: "", canvasData: {}, settings: {} }, as(owner))).project!.id;
  broker = { token: await store.serviceToken("broker") };
});
afterAll(async () => store?.shutdown());

it("a created task has its dispatch; a refused one (bad node) leaves neither task nor dispatch", async () => {
  const before = (await dispatchRows()).length;
  const task = (await store.clients.tasks.createTask(req({}), await store.viaBroker(as(owner)))).task!;
  await expectAppError(store.clients.tasks.createTask(req({ nodeId: "00000000-0000-4000-8000-000000000000", type: TaskType.TASK_TYPE_OPTIMIZE }), await store.viaBroker(as(owner))), "VALIDATION_ERROR");
  // The same idempotency key twice: one task, one dispatch.
  await store.clients.tasks.createTask(req({ idempotencyKey: "k1" }), await store.viaBroker(as(owner)));
  await store.clients.tasks.createTask(req({ idempotencyKey: "k1" }), await store.viaBroker(as(owner)));
  const rows = await dispatchRows();
  expect(rows.length - before).toBe(2);
  expect(rows.some((r) => r.task_id === task.id && !r.reclaimed)).toBe(true);
});

it("claims are exclusive until acked or lapsed, carry the task's priority, and only the broker may claim", async () => {
  await store.db.deleteFrom("task_dispatches").execute();
  const ids = [];
  for (let i = 0; i < 3; i++) ids.push((await store.clients.tasks.createTask(req({}), await store.viaBroker(as(owner)))).task!.id);
  await expectAppError(store.clients.lifecycle.claimDispatches({ limit: 10, leaseMs: 1000 }, as(owner)), "UNAUTHENTICATED");
  await expectAppError(store.clients.lifecycle.claimDispatches({ limit: 0, leaseMs: 1000 }, broker), "VALIDATION_ERROR");

  const [a, b] = await Promise.all([
    store.clients.lifecycle.claimDispatches({ limit: 10, leaseMs: 300 }, broker),
    store.clients.lifecycle.claimDispatches({ limit: 10, leaseMs: 300 }, broker),
  ]);
  const claimed = [...a.dispatches, ...b.dispatches];
  expect(claimed.map((d) => d.taskId).sort()).toEqual([...ids].sort());
  expect(claimed.every((d) => d.projectId === projectId && d.priority === TaskPriority.TASK_PRIORITY_HIGH)).toBe(true);
  // Unacked, the claim lapses and the rows come round again.
  expect((await store.clients.lifecycle.claimDispatches({ limit: 10, leaseMs: 300 }, broker)).dispatches).toEqual([]);
  await new Promise((r) => setTimeout(r, 400));
  const again = await store.clients.lifecycle.claimDispatches({ limit: 10, leaseMs: 60_000 }, broker);
  expect(again.dispatches).toHaveLength(3);
  await store.clients.lifecycle.ackDispatches({ ids: again.dispatches.map((d) => d.id) }, broker);
  expect(await dispatchRows()).toEqual([]);
});

it("a task reclaimed from a dead worker gets a dispatch marked reclaimed", async () => {
  await store.db.updateTable("tasks").set({ status: "cancelled" }).where("status", "in", ["queued", "running"]).execute();
  await store.db.deleteFrom("task_dispatches").execute();
  const task = (await store.clients.tasks.createTask(req({}), await store.viaBroker(as(owner)))).task!;
  await store.clients.lifecycle.startTask({ id: task.id, workerId: "dead", leaseMs: 20 }, broker);
  await store.db.deleteFrom("task_dispatches").execute();
  await new Promise((r) => setTimeout(r, 60));
  await store.clients.lifecycle.reclaimTasks({ queuedAfterMs: 600_000, limit: 10 }, broker);
  const { dispatches } = await store.clients.lifecycle.claimDispatches({ limit: 10, leaseMs: 1000 }, broker);
  expect(dispatches.map((d) => [d.taskId, d.reclaimed])).toEqual([[task.id, true]]);
});

it("a CreateTask whose caller gave up before it could commit (the deadline passed while it waited for the project's lock) writes nothing", async () => {
  // The caller was told DEADLINE_EXCEEDED (the gateway answers 503 "not created"): a task
  // committed after that would run behind the user's back.
  let release!: () => void;
  let locked!: () => void;
  const isLocked = new Promise<void>((r) => (locked = r));
  const holding = store.db.transaction().execute(async (trx) => {
    await trx.selectFrom("projects").select("id").where("id", "=", projectId).forUpdate().execute();
    locked();
    await new Promise<void>((r) => (release = r));
  });
  await isLocked;
  const prompt = `late ${Date.now()}`;
  await expectAppError(store.clients.tasks.createTask(req({ prompt }), { ...(await store.viaBroker(as(owner))), deadlineMs: 500 }), "DEADLINE_EXCEEDED");
  // Let the store's side see the call end too (its own deadline timer), then let it go on.
  await new Promise((r) => setTimeout(r, 200));
  release();
  await holding;
  // The same request with time to spare queues behind the late one on the project's lock, so
  // once it is answered the late one has ended: one task, the second one's.
  const second = (await store.clients.tasks.createTask(req({ prompt }), await store.viaBroker(as(owner)))).task!;
  expect((await store.db.selectFrom("tasks").select("id").where("prompt", "=", prompt).execute()).map((t) => t.id)).toEqual([second.id]);
});

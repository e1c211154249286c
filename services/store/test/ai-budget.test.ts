import { describe, expect, it } from "vitest";
import { TaskPriority, TaskType, type CreateTaskRequest } from "@sker/contracts/store/v1/task";
import { expectAppError, startTestStore, type TestStore, type TestUser } from "@sker/testkit/store";

// The per-user AI submission budget in the store's CreateTask: shared by store replicas through
// Redis, held in the process's memory when Redis is unreachable or not configured.

const LIMIT = { RATE_LIMIT_AI_PER_USER: "2" };

async function projectOf(store: TestStore, u: TestUser) {
  return (await store.clients.projects.createProject({ name: "P", description: "", canvasData: {}, settings: {} }, { token: u.token })).project!.id;
}

const req = (projectId: string, over: Partial<CreateTaskRequest> = {}): CreateTaskRequest => ({
  projectId,
  type: TaskType.TASK_TYPE_GENERATE,
  nodeId: "",
  sourceNodeIds: [],
  prompt: "a line",
  priority: TaskPriority.TASK_PRIORITY_NORMAL,
  idempotencyKey: "",
  ...over,
});

const create = async (store: TestStore, u: TestUser, projectId: string, over: Partial<CreateTaskRequest> = {}) =>
  store.clients.tasks.createTask(req(projectId, over), await store.viaBroker({ token: u.token }));

async function spendsTwoThenRefuses(store: TestStore) {
  const u = await store.register("budget");
  const projectId = await projectOf(store, u);
  await create(store, u, projectId);
  await create(store, u, projectId);
  const err = await expectAppError(create(store, u, projectId), "RATE_LIMITED");
  expect(err.details?.retryAfter).toBeGreaterThan(0);
  expect(err.details?.retryAfter).toBeLessThanOrEqual(60);
}

describe("the AI submission budget in CreateTask", () => {
  it("is shared by two store replicas through Redis", async () => {
    const a = await startTestStore({ driver: "pg", env: LIMIT });
    const b = await startTestStore({ shareDb: a.testDb, env: { ...LIMIT, REDIS_KEY_PREFIX: a.keyPrefix, JWT_SECRET: a.config.common.jwtSecret } });
    try {
      const u = await a.register("shared");
      const projectId = await projectOf(a, u);
      await create(a, u, projectId);
      await create(b, u, projectId);
      await expectAppError(create(a, u, projectId), "RATE_LIMITED");
      await expectAppError(create(b, u, projectId), "RATE_LIMITED");
      // Another user of the same replicas has a budget of their own.
      const v = await a.register("other");
      expect((await create(b, v, await projectOf(a, v))).created).toBe(true);
    } finally {
      await b.shutdown();
      await a.shutdown();
    }
  });

  it("holds in this process's memory while Redis cannot be reached", async () => {
    const store = await startTestStore({ driver: "pg", redis: "redis://127.0.0.1:1", env: LIMIT });
    try {
      const started = Date.now();
      await spendsTwoThenRefuses(store);
      // No request waits for the Redis that is not there.
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await store.shutdown();
    }
  });

  it("holds without Redis (embedded PGlite, in memory)", async () => {
    const store = await startTestStore({ driver: "pglite", redis: false, env: LIMIT });
    try {
      await spendsTwoThenRefuses(store);
    } finally {
      await store.shutdown();
    }
  });

  it("a repeated idempotency key answers the first task without spending again", async () => {
    const store = await startTestStore({ driver: "pg", env: LIMIT });
    try {
      const u = await store.register("idem");
      const projectId = await projectOf(store, u);
      const first = await create(store, u, projectId, { idempotencyKey: "k1" });
      for (let i = 0; i < 4; i++) expect((await create(store, u, projectId, { idempotencyKey: "k1" })).task!.id).toBe(first.task!.id);
      expect((await create(store, u, projectId)).created).toBe(true);
      await expectAppError(create(store, u, projectId), "RATE_LIMITED");
      // Spent out, the same key still answers its task (a retry of a submission whose answer was lost).
      expect((await create(store, u, projectId, { idempotencyKey: "k1" })).task!.id).toBe(first.task!.id);
    } finally {
      await store.shutdown();
    }
  });

  it("a submission refused for the project (not a member, only a viewer) spends nothing", async () => {
    const store = await startTestStore({ driver: "pg", env: LIMIT });
    try {
      const owner = await store.register("owner");
      const u = await store.register("stranger");
      const theirs = await projectOf(store, owner);
      for (let i = 0; i < 3; i++) await expectAppError(create(store, u, theirs), "NOT_FOUND");
      await store.clients.projects.putMember({ projectId: theirs, userId: u.id, role: "ROLE_VIEWER" }, { token: owner.token });
      for (let i = 0; i < 3; i++) await expectAppError(create(store, u, theirs), "FORBIDDEN");
      const mine = await projectOf(store, u);
      expect((await create(store, u, mine)).created).toBe(true);
      expect((await create(store, u, mine)).created).toBe(true);
      await expectAppError(create(store, u, mine), "RATE_LIMITED");
    } finally {
      await store.shutdown();
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import pg from "pg";
import { TaskType } from "@sker/contracts/store/v1/task";
import { prune } from "../src/retention/prune.js";
import { startTestStore, type TestStore, type TestUser } from "@sker/testkit/store";

// Retention on PostgreSQL and PGlite: old published events go and the project's pruned_seq
// says so (ListEvents answers it, for the gateway's resync); finished tasks past their period
// go; everything newer or unfinished stays; one pruner at a time.


describe.each(["pg", "pglite"] as const)("retention on %s", (driver) => {
  let store: TestStore;
  let alice: TestUser;
  let projectId: string;
  const as = () => ({ token: alice.token });
  const policy = { eventsDays: 365, tasksDays: 90 };

  beforeAll(async () => {
    store = await startTestStore({ driver, redis: false, env: { RETENTION_INTERVAL_MS: "3600000" } });
    alice = await store.register("alice");
    projectId = (await store.clients.projects.createProject({ name: "P" }, as())).project!.id;
  }, 180_000);
  afterAll(() => store?.shutdown());

  it("prunes published events older than the period and records pruned_seq; replay reports it", async () => {
    for (let i = 0; i < 5; i++) await store.clients.nodes.createNode({ projectId, title: `n${i}` }, as());
    await store.running.relay.flush();
    // The first three events are 400 days old.
    await sql`UPDATE events SET created_at = now() - interval '400 days' WHERE project_id = ${projectId} AND seq <= 3`.execute(store.db);
    const res = await prune(store.db, policy);
    expect(res).toMatchObject({ ran: true, events: 3 });
    const replay = await store.clients.events.listEvents({ projectId, afterSeq: 0 }, as());
    expect(replay.prunedSeq).toBe(3);
    expect(replay.events.map((e) => e.seq)).toEqual([4, 5]);
    const activity = await store.clients.collab.listActivity({ projectId }, as());
    expect(activity.items.map((i) => i.event!.seq)).toEqual([5, 4]);
  });

  it("keeps events the outbox has not published, however old", async () => {
    await store.clients.nodes.createNode({ projectId, title: "late" }, as());
    // As if the bus were down since: the relay would otherwise publish it again.
    await store.running.relay.stop();
    await sql`UPDATE events SET created_at = now() - interval '400 days', published_at = NULL WHERE project_id = ${projectId} AND seq = 6`.execute(store.db);
    expect((await prune(store.db, policy)).events).toBe(0);
    await sql`UPDATE events SET published_at = now() WHERE project_id = ${projectId} AND seq = 6`.execute(store.db);
  });

  it("prunes finished tasks past their period, never a queued or recent one", async () => {
    const make = async () => (await store.clients.tasks.createTask({ projectId, type: TaskType.TASK_TYPE_GENERATE, prompt: "x" }, await store.viaBroker(as()))).task!.id;
    const [oldDone, recentDone, oldQueued] = [await make(), await make(), await make()];
    for (const id of [oldDone, recentDone]) await store.clients.tasks.cancelTask({ id }, as());
    await sql`UPDATE tasks SET completed_at = now() - interval '100 days' WHERE id = ${oldDone}`.execute(store.db);
    await sql`UPDATE tasks SET created_at = now() - interval '100 days' WHERE id = ${oldQueued}`.execute(store.db);
    expect((await prune(store.db, policy)).tasks).toBe(1);
    const left = (await store.db.selectFrom("tasks").select("id").execute()).map((t) => t.id);
    expect(left).not.toContain(oldDone);
    expect(left).toEqual(expect.arrayContaining([recentDone, oldQueued]));
  });
});

describe("one pruner at a time", () => {
  let store: TestStore;
  beforeAll(async () => {
    store = await startTestStore({ redis: false });
  }, 60_000);
  afterAll(() => store?.shutdown());

  it("does nothing while another replica holds the retention lock", async () => {
    const alice = await store.register("a");
    const projectId = (await store.clients.projects.createProject({ name: "P" }, { token: alice.token })).project!.id;
    await store.clients.nodes.createNode({ projectId, title: "x" }, { token: alice.token });
    await store.running.relay.flush();
    await sql`UPDATE events SET created_at = now() - interval '400 days'`.execute(store.db);
    const other = new pg.Client({ connectionString: store.testDb.url });
    await other.connect();
    try {
      await other.query("BEGIN");
      await other.query("SELECT pg_advisory_xact_lock($1)", [0x5ce7_0b0d]);
      expect(await store.running.retention.runOnce()).toMatchObject({ ran: false, events: 0 });
      await other.query("COMMIT");
      expect(await store.running.retention.runOnce()).toMatchObject({ ran: true, events: 1 });
    } finally {
      await other.end();
    }
  });
});

import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger, createMetrics } from "@sker/kit";
import { backlogMetrics } from "../src/backlog-metrics.js";
import { createTestDb, type TestDb } from "@sker/testkit/db";

// The backlog gauges the alerts read: age of the oldest queued task and of the oldest
// unpublished event, as /metrics shows them, on both engines.

const gaugeValue = (text: string, name: string) => Number(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, "m").exec(text)?.[1]);

describe.each(["pg", "pglite"] as const)("backlog metrics on %s", (driver) => {
  let t: TestDb;
  let projectId: string;
  let userId: string;
  const metrics = createMetrics("store");
  const scrape = () => metrics.registry.metrics();

  beforeAll(async () => {
    t = await createTestDb(driver);
    backlogMetrics(metrics, t.db, createLogger("store", "silent"));
    userId = (await t.db.insertInto("users").values({ email: "b@x.test", username: "b", password_hash: "x", settings: "{}" }).returning("id").executeTakeFirstOrThrow()).id;
    projectId = (await t.db.insertInto("projects").values({ name: "P", owner_id: userId, canvas_data: "{}", settings: "{}" }).returning("id").executeTakeFirstOrThrow()).id;
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  it("read 0 when nothing waits", async () => {
    await t.db.updateTable("events").set({ published_at: sql`now()` }).execute();
    const text = await scrape();
    expect(gaugeValue(text, "store_tasks_oldest_queued_seconds")).toBe(0);
    expect(gaugeValue(text, "store_outbox_oldest_unpublished_seconds")).toBe(0);
  });

  it("read the age of the oldest queued task and ignore running and finished ones", async () => {
    const task = (status: "queued" | "running" | "completed", agoSeconds: number) => ({
      project_id: projectId,
      type: "generate" as const,
      status,
      options: "{}",
      created_by: userId,
      enqueued_at: sql<Date>`now() - ${agoSeconds}::int * interval '1 second'`,
    });
    await t.db.insertInto("tasks").values([task("queued", 120), task("queued", 10), task("running", 900), task("completed", 3600)]).execute();
    const age = gaugeValue(await scrape(), "store_tasks_oldest_queued_seconds");
    expect(age).toBeGreaterThanOrEqual(120);
    expect(age).toBeLessThan(900);
  });

  it("read the age of the oldest unpublished event (outbox lag) and ignore published ones", async () => {
    const event = (seq: number, agoSeconds: number, published: boolean) => ({
      project_id: projectId,
      seq,
      name: "node.created",
      data: "{}",
      created_at: sql<Date>`now() - ${agoSeconds}::int * interval '1 second'`,
      published_at: published ? sql<Date>`now()` : null,
    });
    await t.db.insertInto("events").values([event(1001, 600, true), event(1002, 45, false), event(1003, 5, false)]).execute();
    const lag = gaugeValue(await scrape(), "store_outbox_oldest_unpublished_seconds");
    expect(lag).toBeGreaterThanOrEqual(45);
    expect(lag).toBeLessThan(600);
  });
});

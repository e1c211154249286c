import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KyselyPlugin } from "kysely";
import { createLogger, type BusEvent, type EventBus } from "@sker/kit";
import { createTestDb, type TestDb } from "@sker/testkit/db";
import { appendEvents } from "../src/events/append.js";
import { OutboxRelay } from "../src/outbox/relay.js";

// When the outbox relay runs its passes: a poke on a quiet relay goes at once, and commits that
// come within the gather window of the last pass wait for it and go out together (each pass is
// BEGIN, one statement, COMMIT: fewer passes are fewer round trips under load).

describe("outbox relay gathering", () => {
  let t: TestDb;
  let relay: OutboxRelay;
  let projectId: string;
  const published: BusEvent[] = [];
  let passes = 0;
  const GATHER = 2_000;

  beforeAll(async () => {
    t = await createTestDb("pglite");
    const userId = (await t.db.insertInto("users").values({ email: "g@x.test", username: "g", password_hash: "x", settings: "{}" }).returning("id").executeTakeFirstOrThrow()).id;
    projectId = (await t.db.insertInto("projects").values({ name: "G", owner_id: userId, canvas_data: "{}", settings: "{}" }).returning("id").executeTakeFirstOrThrow()).id;
    // Counts the relay's passes: its one statement takes the relay lock.
    const counting: KyselyPlugin = {
      transformQuery: (args) => {
        const raw = args.node as unknown as { kind: string; sqlFragments?: readonly string[] };
        if (raw.kind === "RawNode" && raw.sqlFragments?.join("").includes("pg_try_advisory_xact_lock")) passes++;
        return args.node;
      },
      transformResult: async (args) => args.result,
    };
    const bus = { publish: async (e: BusEvent) => void published.push(e) } as unknown as EventBus;
    relay = new OutboxRelay({ db: t.db.withPlugin(counting), bus, log: createLogger("outbox-gather", "silent"), pollMs: 60_000, gatherMs: GATHER });
    relay.start();
    await until(() => passes >= 1); // the first pass at start finds nothing
  });
  afterAll(async () => {
    await relay?.stop();
    await t?.cleanup();
  });

  const until = async (ok: () => boolean, ms = 10_000) => {
    const end = Date.now() + ms;
    while (!ok()) {
      if (Date.now() > end) throw new Error("timed out");
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const write = async (name: string) => {
    await t.db.transaction().execute((trx) => appendEvents(trx, projectId, [{ name, resource: { $case: "deleted", value: { id: name } }, actor: { userId: null } }]));
    relay.poke();
  };

  it("a poke on a quiet relay publishes at once; pokes within the window of that pass go out in one pass after it", async () => {
    await new Promise((r) => setTimeout(r, GATHER + 100)); // quiet: the start's pass is long over
    const before = passes;
    const t0 = Date.now();
    await write("first");
    await until(() => published.length === 1);
    // Not held back by the window: a lone event goes at once.
    expect(Date.now() - t0).toBeLessThan(GATHER / 2);
    expect(passes).toBe(before + 1);

    await write("second");
    await write("third");
    await new Promise((r) => setTimeout(r, 300));
    // Within the window of the last pass: held, to go out with whatever else comes.
    expect(published.map((e) => e.name)).toEqual(["first"]);
    await until(() => published.length === 3);
    expect(published.map((e) => e.name)).toEqual(["first", "second", "third"]);
    expect(passes).toBe(before + 2);
  });
});

describe("outbox relay gathering after a slow pass", () => {
  let t: TestDb;
  let relay: OutboxRelay;
  let projectId: string;
  /** When the relay handed each event over, and how many publishes have finished. */
  const handed: { name: string; at: number }[] = [];
  let done = 0;
  let slow = false;

  beforeAll(async () => {
    t = await createTestDb("pglite");
    const userId = (await t.db.insertInto("users").values({ email: "s@x.test", username: "s", password_hash: "x", settings: "{}" }).returning("id").executeTakeFirstOrThrow()).id;
    projectId = (await t.db.insertInto("projects").values({ name: "S", owner_id: userId, canvas_data: "{}", settings: "{}" }).returning("id").executeTakeFirstOrThrow()).id;
    // A saturated machine, as the relay sees it: every pass takes long (here the confirms).
    const bus = {
      publish: async (e: BusEvent) => {
        handed.push({ name: e.name, at: Date.now() });
        if (slow) await new Promise((r) => setTimeout(r, 600));
        done++;
      },
    } as unknown as EventBus;
    relay = new OutboxRelay({ db: t.db, bus, log: createLogger("outbox-gather-slow", "silent"), pollMs: 60_000, gatherMs: 10, maxGatherMs: 5_000 });
    relay.start();
  });
  afterAll(async () => {
    await relay?.stop();
    await t?.cleanup();
  });

  const write = async (name: string) => {
    await t.db.transaction().execute((trx) => appendEvents(trx, projectId, [{ name, resource: { $case: "deleted", value: { id: name } }, actor: { userId: null } }]));
    relay.poke();
  };
  const until = async (ok: () => boolean, ms = 10_000) => {
    const end = Date.now() + ms;
    while (!ok()) {
      if (Date.now() > end) throw new Error("timed out");
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  it("holds the commits after a pass for as long as that pass took, not the 10 ms window", async () => {
    await new Promise((r) => setTimeout(r, 200)); // the start's pass is over
    slow = true;
    await write("slow");
    await until(() => done === 1); // a quiet relay: at once, then ~600 ms in the bus
    const passEnded = Date.now();
    slow = false;
    await write("next");
    await new Promise((r) => setTimeout(r, 300));
    // Within 600 ms of a 600 ms pass: held (the fixed 10 ms window would have sent it by now).
    expect(handed.map((e) => e.name)).toEqual(["slow"]);
    await until(() => handed.length === 2);
    expect(handed[1].at - passEnded).toBeGreaterThanOrEqual(450);
    expect(handed[1].at - passEnded).toBeLessThan(2_000);
  });
});

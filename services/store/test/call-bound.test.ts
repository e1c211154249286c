// The store's database is bound to the RPC it serves (db/call-bound.ts, db/pg-cancel.ts): for a
// call whose client cancelled or whose deadline passed, nothing commits and, on PostgreSQL, the
// statement it is waiting on is cancelled. Real gRPC calls through the kit, on both engines.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { AppError, bind, channelPool, createLogger, createMetrics, promiseClient, startGrpcServer, Tokens, type CallContext } from "@sker/kit";
import { EventServiceService, type ListEventsRequest } from "@sker/contracts/store/v1/event";
import { createTestDb, type Driver, type TestDb } from "@sker/testkit/db";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each<Driver>(["pglite", "pg"])("a call that stops stops its database work (%s)", (driver) => {
  let t: TestDb;
  let server: Awaited<ReturnType<typeof startGrpcServer>>;
  let client: ReturnType<typeof promiseClient<typeof EventServiceService>>;
  let pool: ReturnType<typeof channelPool>;
  let token: string;
  const finished = new Map<string, { ms: number; error?: string }>();

  /** The probe's work, chosen by `projectId`: "<kind>:<tag>". */
  async function listEvents(req: ListEventsRequest, _ctx: CallContext) {
    const [kind, tag] = req.projectId.split(":");
    const started = Date.now();
    try {
      if (kind === "tx-slow") {
        // Work inside the transaction outlasts the call; the commit comes after it.
        await t.db.transaction().execute(async (trx) => {
          await sql`insert into call_probe (tag) values (${tag})`.execute(trx);
          await sleep(600);
        });
      } else if (kind === "late-insert") {
        await sleep(600);
        await sql`insert into call_probe (tag) values (${tag})`.execute(t.db);
      } else if (kind === "pg-sleep") {
        await t.db.transaction().execute(async (trx) => {
          await sql`insert into call_probe (tag) values (${tag})`.execute(trx);
          await sql`select pg_sleep(10)`.execute(trx);
        });
      } else {
        await sql`insert into call_probe (tag) values (${tag})`.execute(t.db);
      }
      finished.set(tag, { ms: Date.now() - started });
    } catch (err) {
      finished.set(tag, { ms: Date.now() - started, error: err instanceof AppError ? err.code : String(err) });
      throw err;
    }
    return { events: [], latestSeq: 0, prunedSeq: 0 };
  }

  beforeAll(async () => {
    t = await createTestDb(driver);
    await sql`create table call_probe (tag text not null)`.execute(t.db);
    const kit = { tokens: new Tokens({ jwtSecret: "call-bound-test-secret-0123456789abcdef", jwtIssuer: "sker", jwtAudience: "sker-api" }), log: createLogger("store-test", "silent"), metrics: createMetrics("store-test"), inflight: new Set<Promise<unknown>>() };
    server = await startGrpcServer({ host: "127.0.0.1", port: 0, services: [bind("sker.store.v1.EventService", EventServiceService, { listEvents }, kit)], kit, shutdownTimeoutMs: 2_000, reflection: false });
    pool = channelPool(`127.0.0.1:${server.port}`, 1);
    client = promiseClient(EventServiceService, pool, { deadlineMs: 10_000, retries: 0 });
    token = await kit.tokens.service("broker");
  }, 60_000);

  afterAll(async () => {
    pool?.close();
    await server?.shutdown();
    await t?.cleanup();
  });

  const call = (projectId: string, opts: { deadlineMs?: number; signal?: AbortSignal } = {}) => client.listEvents({ projectId, afterSeq: 0, limit: 1 }, { token, ...opts });
  const written = async (tag: string) => (await sql<{ n: number }>`select count(*)::int as n from call_probe where tag = ${tag}`.execute(t.db)).rows[0].n;
  const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as AppError);

  it("commits a write made within the deadline", async () => {
    await call("plain:ok", { deadlineMs: 5_000 });
    expect(await written("ok")).toBe(1);
  });

  it("rolls back a transaction whose commit would come after the deadline", async () => {
    expect((await failure(call("tx-slow:late-tx", { deadlineMs: 250 })))?.code).toBe("DEADLINE_EXCEEDED");
    await expect.poll(() => finished.get("late-tx"), { timeout: 3_000 }).toMatchObject({ error: "DEADLINE_EXCEEDED" });
    expect(await written("late-tx")).toBe(0);
  });

  it("starts no statement after the deadline", async () => {
    await failure(call("late-insert:late-stmt", { deadlineMs: 250 }));
    await expect.poll(() => finished.get("late-stmt"), { timeout: 3_000 }).toMatchObject({ error: "DEADLINE_EXCEEDED" });
    expect(await written("late-stmt")).toBe(0);
  });

  it("rolls back the transaction of a call its client cancelled", async () => {
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 200);
    expect((await failure(call("tx-slow:cancelled", { signal: abort.signal })))?.code).toBe("UNAVAILABLE");
    await expect.poll(() => finished.get("cancelled"), { timeout: 3_000 }).toMatchObject({ error: "UNAVAILABLE" });
    expect(await written("cancelled")).toBe(0);
  });

  // PGlite runs a statement to its end on the event loop: there is nothing to cancel.
  if (driver === "pg")
    it("cancels the statement a call is waiting on when its deadline passes", async () => {
      await failure(call("pg-sleep:sleeper", { deadlineMs: 300 }));
      // pg_sleep(10) was cut short: the handler ended with the call's reason soon after the deadline.
      await expect.poll(() => finished.get("sleeper"), { timeout: 5_000 }).toMatchObject({ error: "DEADLINE_EXCEEDED" });
      expect(finished.get("sleeper")!.ms).toBeLessThan(3_000);
      expect(await written("sleeper")).toBe(0);
      // The pool still serves calls afterwards (the cancelled connection was closed, not reused).
      await call("plain:after", { deadlineMs: 5_000 });
      expect(await written("after")).toBe(1);
    });
});

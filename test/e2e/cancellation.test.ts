// A caller that goes away, or runs out of time, stops the work behind it: the gateway's gRPC
// call carries the client's cancellation and its deadline to the store, which cancels the
// statement it is waiting on and never commits the write. The store's work is made slow the way
// it is slow in life: another session holds the row lock the write needs.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { client, register, type Req } from "@sker/testkit/http";
import { startMesh, type Mesh } from "./support/processes.js";

const DEADLINE_MS = 2_000;
const UPDATE_NODE = "/sker.store.v1.NodeService/UpdateNode";

let mesh: Mesh;
let req: Req;
let token: string;
let nodeId: string;
let db: pg.Client;

beforeAll(async () => {
  mesh = await startMesh("separate", { GRPC_DEADLINE_MS: String(DEADLINE_MS) });
  req = client(mesh.url);
  token = (await register(req, "cancel")).accessToken;
  const project = await req("POST", "/api/v1/projects", { token, body: { name: "slow store" } });
  expect(project.status, JSON.stringify(project.body)).toBe(201);
  const node = await req("POST", "/api/v1/nodes", { token, body: { projectId: project.body.data.id, title: "before", content: "c" } });
  expect(node.status, JSON.stringify(node.body)).toBe(201);
  nodeId = node.body.data.id;
  db = new pg.Client({ connectionString: mesh.databaseUrl });
  await db.connect();
}, 150_000);

afterAll(async () => {
  await db?.end();
  await mesh?.stop();
}, 60_000);

/** The store's count of UpdateNode calls that ended with `code`, from its /metrics. */
async function storeCount(code: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${mesh.ports("store").metricsPort}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith("grpc_server_handling_seconds_count{") && l.includes(`method="${UPDATE_NODE}"`) && l.includes(`code="${code}"`));
  return line ? Number(line.split(" ").pop()) : 0;
}

/** Holds the node's row lock (as a concurrent writer would) until release() is called. */
async function holdNodeLock(): Promise<{ release(): Promise<void> }> {
  await db.query("BEGIN");
  await db.query("SELECT id FROM nodes WHERE id = $1 FOR UPDATE", [nodeId]);
  return { release: async () => void (await db.query("ROLLBACK")) };
}

async function nodeAsUserSeesIt() {
  const res = await req("GET", `/api/v1/nodes/${nodeId}`, { token });
  expect(res.status).toBe(200);
  return res.body.data as { title: string; version: number };
}

async function nodeUpdatedEvents(): Promise<number> {
  const { rows } = await db.query("SELECT count(*)::int AS n FROM events WHERE name = 'node.updated'");
  return rows[0].n as number;
}

describe("cancellation and deadlines flow downstream (separate processes, PostgreSQL)", () => {
  it("a REST request the client cancels cancels the store's call: it stops waiting and writes nothing", async () => {
    const before = await storeCount("CANCELLED");
    const lock = await holdNodeLock();
    try {
      const abort = new AbortController();
      const patch = fetch(`${mesh.url}/api/v1/nodes/${nodeId}`, {
        method: "PATCH",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ title: "cancelled" }),
        signal: abort.signal,
      });
      setTimeout(() => abort.abort(), 500);
      await expect(patch).rejects.toThrow(/abort/i);
      // While the lock is still held: the store has seen the cancel and given up the statement.
      await expect.poll(() => storeCount("CANCELLED"), { timeout: 5_000, interval: 100 }).toBeGreaterThan(before);
    } finally {
      await lock.release();
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(await nodeAsUserSeesIt()).toMatchObject({ title: "before", version: 1 });
    expect(await nodeUpdatedEvents()).toBe(0);
  });

  it("a deadline shorter than the store's work answers 504 DEADLINE_EXCEEDED, and the store does not finish the write after it", async () => {
    const before = await storeCount("DEADLINE_EXCEEDED");
    const lock = await holdNodeLock();
    let res: Awaited<ReturnType<Req>>;
    const started = Date.now();
    try {
      res = await req("PATCH", `/api/v1/nodes/${nodeId}`, { token, body: { title: "too late" } });
      expect(Date.now() - started).toBeGreaterThanOrEqual(DEADLINE_MS - 100);
      await expect.poll(() => storeCount("DEADLINE_EXCEEDED"), { timeout: 5_000, interval: 100 }).toBeGreaterThan(before);
    } finally {
      // The lock goes only now, after the deadline: a store that kept waiting would write here.
      await lock.release();
    }
    expect(res.status).toBe(504);
    expect(res.body.error).toEqual({ code: "DEADLINE_EXCEEDED", message: "a dependency did not answer in time" });
    await new Promise((r) => setTimeout(r, 500));
    expect(await nodeAsUserSeesIt()).toMatchObject({ title: "before", version: 1 });
    expect(await nodeUpdatedEvents()).toBe(0);
  });

  it("the same write goes through once nothing holds it up", async () => {
    const res = await req("PATCH", `/api/v1/nodes/${nodeId}`, { token, body: { title: "after" } });
    expect(res.status).toBe(200);
    expect(await nodeAsUserSeesIt()).toMatchObject({ title: "after", version: 2 });
    expect(await nodeUpdatedEvents()).toBe(1);
  });
});

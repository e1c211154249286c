// A replay that asks for events retention has removed gets `resync`, never a silent gap.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { startStack, type Stack } from "@sker/testkit/stack";
import { client, register, type Req } from "@sker/testkit/http";
import { WsClient } from "@sker/testkit/ws";

let stack: Stack;
let req: Req;
let alice: Awaited<ReturnType<typeof register>>;
let projectId: string;

/** What the store's retention pass leaves behind: the oldest events gone, pruned_seq raised. */
async function pruneUpTo(seq: number) {
  const c = new pg.Client({ connectionString: stack.env.DATABASE_URL });
  await c.connect();
  await c.query("DELETE FROM events WHERE project_id = $1 AND seq <= $2", [projectId, seq]);
  await c.query("UPDATE projects SET pruned_seq = $2 WHERE id = $1", [projectId, seq]);
  await c.end();
}

beforeAll(async () => {
  stack = await startStack({ withBroker: false });
  req = client(stack.url);
  alice = await register(req, "alice");
  projectId = (await req("POST", "/api/v1/projects", { token: alice.accessToken, body: { name: "Old" } })).body.data.id;
  for (let i = 0; i < 4; i++) await req("POST", "/api/v1/nodes", { token: alice.accessToken, body: { projectId, title: `n${i}` } });
  await pruneUpTo(2);
}, 60_000);
afterAll(async () => stack?.close());

describe("resync", () => {
  it("subscribe with a since older than what is kept: resync with the latest seq, then live events", async () => {
    const ws = await WsClient.open(stack.url, alice.accessToken);
    ws.send({ type: "subscribe", projectId, since: 1 });
    const subscribed = await ws.next((f) => f.type === "subscribed");
    const resync = await ws.next((f) => f.type === "resync");
    expect(resync).toMatchObject({ projectId, seq: subscribed.seq, prunedSeq: 2 });
    expect(ws.events(projectId)).toEqual([]);
    await req("POST", "/api/v1/nodes", { token: alice.accessToken, body: { projectId, title: "after" } });
    const [live] = await ws.waitEvents(projectId, 1);
    expect(live).toMatchObject({ seq: subscribed.seq + 1, name: "node.created", actor: { userId: alice.user.id } });
    ws.close();
  });

  it("since 0 (everything) is a resync too; a since inside what is kept replays as before", async () => {
    const zero = await WsClient.open(stack.url, alice.accessToken);
    zero.send({ type: "subscribe", projectId, since: 0 });
    await zero.next((f) => f.type === "resync");
    zero.close();
    const kept = await WsClient.open(stack.url, alice.accessToken);
    kept.send({ type: "subscribe", projectId, since: 2 });
    const events = await kept.waitEvents(projectId, 3);
    expect(events.map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(kept.frames.some((f) => f.type === "resync")).toBe(false);
    kept.close();
  });
});

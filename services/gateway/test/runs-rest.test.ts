import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { startStack, type Stack } from "@sker/testkit/stack";
import { client, register, type Req } from "@sker/testkit/http";
import { WsClient } from "@sker/testkit/ws";

// Graph runs through the public API, as the README's curl walkthrough does it: AI nodes with a
// recipe, input links, POST /projects/:id/runs, GET /runs/:id until done, the list, cancel,
// a cycle refused with the nodes named, and the run.* events on a subscribed WebSocket.

let stack: Stack;
let req: Req;
beforeAll(async () => {
  stack = await startStack();
  req = client(stack.url);
}, 60_000);
afterAll(async () => stack?.close());

async function setup() {
  const me = await register(req, "runner");
  const token = me.accessToken;
  const projectId = (await req("POST", "/api/v1/projects", { token, body: { name: "Runs" } })).body.data.id as string;
  const node = async (body: Record<string, unknown>) => {
    const res = await req("POST", "/api/v1/nodes", { token, body: { projectId, ...body } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.data as { id: string; recipe: unknown; version: number };
  };
  const link = async (from: string, to: string) => {
    expect((await req("POST", "/api/v1/connections", { token, body: { projectId, sourceNodeId: from, targetNodeId: to, type: "input" } })).status).toBe(201);
  };
  return { me, token, projectId, node, link };
}

async function waitRun(token: string, id: string) {
  const end = Date.now() + 30_000;
  for (;;) {
    const res = await req("GET", `/api/v1/runs/${id}`, { token });
    expect(res.status).toBe(200);
    if (res.body.data.status !== "running") return res.body.data;
    if (Date.now() > end) throw new Error(`run still running: ${JSON.stringify(res.body.data)}`);
    await sleep(50);
  }
}

describe("REST: graph runs", () => {
  it("a run end to end: 202 with the plan, progress by GET, ai_run versions, a cached re-run, the list", async () => {
    const { token, projectId, node, link } = await setup();
    const ws = await WsClient.open(stack.url, token);
    ws.send({ type: "subscribe", projectId });
    await ws.next((f) => f.type === "subscribed");
    const facts = await node({ title: "Facts", content: "Lunar regolith blocks radiation; water ice sits in polar craters." });
    const summary = await node({ title: "Summary", recipe: { type: "optimize", prompt: "Summarise for a mission brief" } });
    expect(summary.recipe).toEqual({ type: "optimize", prompt: "Summarise for a mission brief", options: {} });
    const risks = await node({ title: "Risks", recipe: { type: "analyze" } });
    await link(facts.id, summary.id);
    await link(summary.id, risks.id);

    const started = await req("POST", `/api/v1/projects/${projectId}/runs`, { token, body: {} });
    expect(started.status).toBe(202);
    expect(started.body.data).toMatchObject({ status: "running", force: false, targets: [] });
    expect(started.body.data.nodes.map((n: { nodeId: string; state: string }) => [n.nodeId, n.state])).toEqual([
      [summary.id, "queued"],
      [risks.id, "pending"],
    ]);
    const run = await waitRun(token, started.body.data.id);
    expect(run.status).toBe("completed");
    expect(run.nodes.map((n: { state: string }) => n.state)).toEqual(["completed", "completed"]);
    expect(run.finishedAt).not.toBeNull();

    const versions = (await req("GET", `/api/v1/nodes/${summary.id}/versions`, { token })).body.data.items;
    expect(versions[0]).toMatchObject({ changeType: "ai_run", runId: run.id, taskId: run.nodes[0].taskId });
    const task = (await req("GET", `/api/v1/ai-tasks/${run.nodes[0].taskId}`, { token })).body.data;
    expect(task).toMatchObject({ runId: run.id, nodeId: summary.id, status: "completed", type: "optimize" });

    const until = Date.now() + 10_000;
    while (!ws.events(projectId).some((e) => e.name === "run.finished") && Date.now() < until) await sleep(50);
    const runEvents = ws.events(projectId).filter((e) => e.name.startsWith("run."));
    expect(runEvents[0]).toMatchObject({ name: "run.started", data: { id: run.id, status: "running" } });
    expect(runEvents.at(-1)).toMatchObject({ name: "run.finished", data: { id: run.id, status: "completed" } });
    expect(runEvents.filter((e) => e.name === "run.node").map((e) => e.data.state)).toEqual(["queued", "running", "completed", "queued", "running", "completed"]);
    ws.ws.close();

    const again = await req("POST", `/api/v1/projects/${projectId}/runs`, { token, body: { targets: [risks.id] } });
    expect(again.status).toBe(202);
    expect(again.body.data.status).toBe("completed");
    expect(again.body.data.nodes.map((n: { state: string; taskId: string | null }) => [n.state, n.taskId])).toEqual([
      ["cached", null],
      ["cached", null],
    ]);
    const list = (await req("GET", `/api/v1/projects/${projectId}/runs?limit=1`, { token })).body.data;
    expect(list.items.map((r: { id: string }) => r.id)).toEqual([again.body.data.id]);
    const next = (await req("GET", `/api/v1/projects/${projectId}/runs?limit=1&cursor=${list.nextCursor}`, { token })).body.data;
    expect(next.items.map((r: { id: string }) => r.id)).toEqual([run.id]);

    // A finished run cannot be cancelled.
    const cancel = await req("POST", `/api/v1/runs/${run.id}/cancel`, { token });
    expect(cancel.status).toBe(409);
    expect(cancel.body.error.code).toBe("FAILED_PRECONDITION");

    // Removing the recipe makes a plain note again (a node change like any other).
    const plain = await req("PATCH", `/api/v1/nodes/${risks.id}`, { token, body: { recipe: null } });
    expect(plain.status).toBe(200);
    expect(plain.body.data.recipe).toBeNull();
  }, 60_000);

  it("a cycle is a 400 naming its nodes; bad bodies and strangers get 4xx", async () => {
    const { token, projectId, node, link } = await setup();
    const x = await node({ title: "X", recipe: { type: "generate", prompt: "x" } });
    const y = await node({ title: "Y", recipe: { type: "generate", prompt: "y" } });
    await link(x.id, y.id);
    await link(y.id, x.id);
    const cycle = await req("POST", `/api/v1/projects/${projectId}/runs`, { token, body: {} });
    expect(cycle.status).toBe(400);
    expect(cycle.body.error.code).toBe("VALIDATION_ERROR");
    expect(cycle.body.error.details.field).toBe("targets");
    expect(new Set(cycle.body.error.details.cycle)).toEqual(new Set([x.id, y.id]));
    expect(cycle.body.error.message).toContain('"X"');
    expect((await req("GET", `/api/v1/projects/${projectId}/runs`, { token })).body.data.items).toEqual([]);

    const unknown = await req("POST", `/api/v1/projects/${projectId}/runs`, { token, body: { targets: ["nope"] } });
    expect(unknown.status).toBe(400);
    const extra = await req("POST", `/api/v1/projects/${projectId}/runs`, { token, body: { force: true, hurry: 1 } });
    expect(extra.status).toBe(400);
    expect(extra.body.error.details.field).toContain("hurry");
    const badRecipe = await req("POST", "/api/v1/nodes", { token, body: { projectId, title: "t", recipe: { type: "dream" } } });
    expect(badRecipe.status).toBe(400);

    const stranger = await register(req, "stranger");
    expect((await req("POST", `/api/v1/projects/${projectId}/runs`, { token: stranger.accessToken, body: {} })).status).toBe(404);
    expect((await req("GET", `/api/v1/projects/${projectId}/runs`, { token: stranger.accessToken })).status).toBe(404);
    expect((await req("POST", `/api/v1/projects/${projectId}/runs`, { body: {} })).status).toBe(401);
  }, 60_000);
});

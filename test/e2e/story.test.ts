// The whole story a canvas team lives through, against SKER mesh started the two ways a user
// starts it (make run / make up), over real HTTP, WebSocket and gRPC sockets.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, register, type Req } from "@sker/testkit/http";
import { WsClient } from "@sker/testkit/ws";
import { startMesh, type Mesh, type Mode } from "./support/processes.js";

const TASK_TYPES = ["generate", "optimize", "expand", "fusion", "analyze"] as const;

describe.each<Mode>(["all-in-one", "separate"])("the canvas story (%s)", (mode) => {
  let mesh: Mesh;
  let req: Req;
  let alice: Awaited<ReturnType<typeof register>>;
  let bob: Awaited<ReturnType<typeof register>>;
  let projectId: string;
  let nodeA: any;
  let nodeB: any;
  let aliceWs: WsClient;
  let bobWs: WsClient;

  beforeAll(async () => {
    mesh = await startMesh(mode, { LOCAL_AI_TOKEN_DELAY_MS: "25" });
    req = client(mesh.url);
  }, 200_000);

  afterAll(async () => {
    aliceWs?.close();
    bobWs?.close();
    const codes = await mesh?.stop();
    // Every process drains and exits 0 on SIGTERM.
    expect(codes).toEqual(codes?.map(() => 0));
  }, 60_000);

  const ok = (res: { status: number; body: any }, status: number) => {
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    return res.body.data;
  };

  it("registers two users, a project with the second as editor, nodes and a connection", async () => {
    alice = await register(req, "alice");
    bob = await register(req, "bob");
    projectId = ok(await req("POST", "/api/v1/projects", { token: alice.accessToken, body: { name: "Moon base" } }), 201).id;
    ok(await req("PUT", `/api/v1/projects/${projectId}/members/${bob.user.id}`, { token: alice.accessToken, body: { role: "editor" } }), 200);
    const body = (title: string, content: string) => ({ token: alice.accessToken, body: { projectId, title, content } });
    nodeA = ok(await req("POST", "/api/v1/nodes", body("Habitat", "Pressurised domes with regolith shielding for the crew")), 201);
    nodeB = ok(await req("POST", "/api/v1/nodes", body("Power", "Solar arrays at the rim and batteries for the lunar night")), 201);
    const conn = ok(
      await req("POST", "/api/v1/connections", { token: alice.accessToken, body: { projectId, sourceNodeId: nodeA.id, targetNodeId: nodeB.id, type: "dependency" } }),
      201,
    );
    expect(conn.sourceNodeId).toBe(nodeA.id);
    const members = ok(await req("GET", `/api/v1/projects/${projectId}/members`, { token: bob.accessToken }), 200);
    expect(members.items.map((m: any) => [m.userId, m.role]).sort()).toEqual(
      [
        [alice.user.id, "owner"],
        [bob.user.id, "editor"],
      ].sort(),
    );
  });

  it("both users subscribe and get the history replayed", async () => {
    aliceWs = await WsClient.open(mesh.url, alice.accessToken);
    bobWs = await WsClient.open(mesh.url);
    bobWs.send({ type: "authenticate", token: bob.accessToken });
    await bobWs.next((f) => f.type === "authenticated");
    for (const ws of [aliceWs, bobWs]) {
      ws.send({ type: "subscribe", projectId, since: 0 });
      const sub = await ws.next((f) => f.type === "subscribed" && f.projectId === projectId);
      expect(sub.seq).toBeGreaterThanOrEqual(4);
      const events = await ws.waitEvents(projectId, sub.seq);
      expect(events.map((e) => e.seq)).toEqual(Array.from({ length: sub.seq }, (_, i) => i + 1));
    }
  });

  it("runs every AI task type; every viewer sees started, streamed progress and completed", async () => {
    const bodies = {
      generate: { prompt: "A greenhouse module for growing food on the moon", sourceNodeIds: [nodeA.id] },
      optimize: { nodeId: nodeA.id },
      expand: { nodeId: nodeB.id },
      fusion: { sourceNodeIds: [nodeA.id, nodeB.id] },
      analyze: { nodeId: nodeB.id },
    };
    const tasks: Record<string, any> = {};
    for (const type of TASK_TYPES) {
      tasks[type] = ok(await req("POST", "/api/v1/ai-tasks", { token: alice.accessToken, body: { projectId, type, ...bodies[type] } }), 202);
      expect(tasks[type].status).toBe("queued");
    }
    for (const ws of [aliceWs, bobWs]) {
      for (const type of TASK_TYPES) {
        const id = tasks[type].id;
        await ws.next((f) => f.type === "event" && f.name === "task.started" && f.data.id === id, 20_000);
        await ws.next((f) => f.type === "event" && f.name === "task.progress" && f.data.taskId === id && f.seq === null, 20_000);
        const done = await ws.next((f) => f.type === "event" && f.name === "task.completed" && f.data.id === id, 30_000);
        expect(done.data.status).toBe("completed");
        expect(done.data.provider).toBe("local");
      }
    }
    // Streamed deltas, in index order, spell out what was written.
    const genId = tasks.generate.id;
    const deltas = aliceWs.frames.filter((f) => f.name === "task.progress" && f.data.taskId === genId).sort((a, b) => a.data.index - b.data.index);
    expect(deltas.map((f) => f.data.index)).toEqual(deltas.map((_, i) => i));

    const got = async (id: string) => ok(await req("GET", `/api/v1/ai-tasks/${id}`, { token: bob.accessToken }), 200);
    const generate = await got(tasks.generate.id);
    const created = ok(await req("GET", `/api/v1/nodes/${generate.resultNodeId}`, { token: bob.accessToken }), 200);
    expect(created.aiGenerated).toBe(true);
    expect(deltas.map((f) => f.data.delta).join("")).toContain(created.title);

    const optimized = ok(await req("GET", `/api/v1/nodes/${nodeA.id}/versions`, { token: bob.accessToken }), 200);
    expect(optimized.items.map((v: any) => v.changeType)).toContain("ai_optimize");

    const expand = await got(tasks.expand.id);
    const child = ok(await req("GET", `/api/v1/nodes/${expand.resultNodeId}`, { token: bob.accessToken }), 200);
    expect(child.parentId).toBe(nodeB.id);

    const fusion = await got(tasks.fusion.id);
    const links = ok(await req("GET", `/api/v1/connections?projectId=${projectId}&nodeId=${fusion.resultNodeId}`, { token: bob.accessToken }), 200);
    expect(links.items.filter((c: any) => c.type === "fusion").map((c: any) => c.sourceNodeId).sort()).toEqual([nodeA.id, nodeB.id].sort());

    const analyzed = ok(await req("GET", `/api/v1/nodes/${nodeB.id}`, { token: bob.accessToken }), 200);
    expect(analyzed.semanticType).not.toBe("");
    expect(analyzed.importance).toBeGreaterThanOrEqual(1);

    const graph = ok(await req("GET", `/api/v1/projects/${projectId}/graph`, { token: bob.accessToken }), 200);
    expect(graph.nodes.map((n: any) => n.id)).toEqual(expect.arrayContaining([created.id, child.id, fusion.resultNodeId]));
  }, 120_000);

  it("cancels a running task: it ends cancelled and writes nothing", async () => {
    const prompt = "Design the airlock sequence ".repeat(14);
    const task = ok(await req("POST", "/api/v1/ai-tasks", { token: bob.accessToken, body: { projectId, type: "generate", prompt } }), 202);
    await aliceWs.next((f) => f.name === "task.started" && f.data.id === task.id, 20_000);
    const cancelled = ok(await req("POST", `/api/v1/ai-tasks/${task.id}/cancel`, { token: bob.accessToken }), 200);
    expect(cancelled.status).toBe("cancelled");
    await aliceWs.next((f) => f.name === "task.cancelled" && f.data.id === task.id, 10_000);
    await new Promise((r) => setTimeout(r, 1500));
    const after = ok(await req("GET", `/api/v1/ai-tasks/${task.id}`, { token: alice.accessToken }), 200);
    expect(after.status).toBe("cancelled");
    expect(after.resultNodeId).toBeNull();
    expect(aliceWs.frames.some((f) => f.name === "task.completed" && f.data.id === task.id)).toBe(false);
  }, 60_000);

  it("the second user's edit reaches the first user's socket, in seq order", async () => {
    const before = aliceWs.events(projectId).length;
    const edited = ok(await req("PATCH", `/api/v1/nodes/${nodeA.id}`, { token: bob.accessToken, body: { title: "Habitat (reviewed by Bob)" } }), 200);
    const ev = await aliceWs.next((f) => f.name === "node.updated" && f.data.id === nodeA.id && f.data.version === edited.version, 10_000);
    expect(ev.data.title).toBe("Habitat (reviewed by Bob)");
    const seqs = aliceWs.events(projectId).map((e) => e.seq);
    expect(seqs.length).toBeGreaterThan(before);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
  });
});

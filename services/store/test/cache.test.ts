import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tcpProxy, type TcpProxy } from "@sker/testkit/tcp-proxy";
import { startTestStore, type TestStore } from "@sker/testkit/store";
import { REDIS_URL } from "@sker/testkit/urls";

describe("Redis cache-aside", () => {
  let store: TestStore;
  let redis: Redis;
  beforeAll(async () => {
    store = await startTestStore({ driver: "pg" });
    redis = new Redis(REDIS_URL, { keyPrefix: store.keyPrefix });
  });
  afterAll(async () => {
    redis?.disconnect();
    await store?.shutdown();
  });

  it("serves project, node and membership reads from Redis after the first, and a write invalidates", async () => {
    const u = await store.register("cache");
    const t = { token: u.token };
    const projectId = (await store.clients.projects.createProject({ name: "cached" }, t)).project!.id;
    const nodeId = (await store.clients.nodes.createNode({ projectId, title: "n" }, t)).node!.id;
    await store.clients.projects.getProject({ id: projectId }, t);
    await store.clients.nodes.getNode({ id: nodeId }, t);
    expect(await redis.exists(`project:${projectId}`, `node:${nodeId}`, `member:${projectId}:${u.id}`)).toBe(3);

    // Change the rows behind the store's back: the next reads still answer from the cache.
    await store.db.updateTable("projects").set({ name: "changed in the db" }).where("id", "=", projectId).execute();
    await store.db.updateTable("nodes").set({ title: "changed in the db" }).where("id", "=", nodeId).execute();
    expect((await store.clients.projects.getProject({ id: projectId }, t)).project?.name).toBe("cached");
    expect((await store.clients.nodes.getNode({ id: nodeId }, t)).node?.title).toBe("n");

    // A write through the store drops the keys; the next read sees the database.
    await store.clients.projects.updateProject({ id: projectId, description: "x" }, t);
    await store.clients.nodes.updateNode({ id: nodeId, content: "x" }, t);
    expect(await redis.exists(`project:${projectId}`, `node:${nodeId}`)).toBe(0);
    expect((await store.clients.projects.getProject({ id: projectId }, t)).project?.name).toBe("changed in the db");
    expect((await store.clients.nodes.getNode({ id: nodeId }, t)).node?.title).toBe("changed in the db");
  });

  it("reads a cached node and the caller's role in one Redis round trip; a member removed since is NOT_FOUND at once", async () => {
    const owner = await store.register("rt-owner");
    const viewer = await store.register("rt-viewer");
    const projectId = (await store.clients.projects.createProject({ name: "one trip" }, { token: owner.token })).project!.id;
    const nodeId = (await store.clients.nodes.createNode({ projectId, title: "hot" }, { token: owner.token })).node!.id;
    await store.clients.projects.putMember({ projectId, userId: viewer.id, role: "ROLE_VIEWER" }, { token: owner.token });
    await store.clients.nodes.getNode({ id: nodeId }, { token: viewer.token }); // fills node and role
    expect(await redis.exists(`node:${nodeId}`, `member:${projectId}:${viewer.id}`)).toBe(2);

    // Every command the store sends for the next read, as Redis sees them (MONITOR names
    // commands a script runs with the source "lua").
    const monitor = await new Redis(REDIS_URL).monitor();
    const seen: { args: string[]; source: string }[] = [];
    monitor.on("monitor", (_time: string, args: string[], source: string) => seen.push({ args, source }));
    expect((await store.clients.nodes.getNode({ id: nodeId }, { token: viewer.token })).node?.title).toBe("hot");
    await new Promise((r) => setTimeout(r, 100));
    monitor.disconnect();
    const ours = (e: { args: string[] }) => e.args.some((a) => a.includes(`${store.keyPrefix}node:${nodeId}`) || a.includes(`${store.keyPrefix}member:${projectId}`));
    const sent = seen.filter((e) => e.source !== "lua" && ours(e));
    // One script call from the store names the node; the role key is read inside it.
    expect(sent).toHaveLength(1);
    expect(sent[0].args[0].toLowerCase()).toMatch(/^eval(sha)?$/);
    expect(seen.filter((e) => e.source === "lua" && ours(e)).map((e) => e.args[0].toLowerCase())).toEqual(["get", "get"]);

    // Membership changes apply before reads: the removal drops the cached role.
    await store.clients.projects.removeMember({ projectId, userId: viewer.id }, { token: owner.token });
    await expect(store.clients.nodes.getNode({ id: nodeId }, { token: viewer.token })).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect((await store.clients.nodes.getNode({ id: nodeId }, { token: owner.token })).node?.title).toBe("hot");
  });
});

describe("Redis down", () => {
  let proxy: TcpProxy;
  let store: TestStore;
  beforeAll(async () => {
    proxy = await tcpProxy(6379);
    store = await startTestStore({ driver: "pg", redis: `redis://127.0.0.1:${proxy.port}` });
  });
  afterAll(async () => {
    await store?.shutdown();
    await proxy?.close();
  });

  it("never fails a request: falls back to the database while Redis is away, and uses it again when back", async () => {
    const u = await store.register("up");
    const t = { token: u.token };
    const projectId = (await store.clients.projects.createProject({ name: "before" }, t)).project!.id;
    await store.clients.projects.getProject({ id: projectId }, t);
    await proxy.down();
    // Everything still works: auth, reads, writes, a fresh registration.
    const v = await store.register("during");
    await store.clients.projects.updateProject({ id: projectId, name: "during the outage" }, t);
    expect((await store.clients.projects.getProject({ id: projectId }, t)).project?.name).toBe("during the outage");
    const nodeId = (await store.clients.nodes.createNode({ projectId, title: "n" }, t)).node!.id;
    expect((await store.clients.nodes.getNode({ id: nodeId }, t)).node?.title).toBe("n");
    await store.clients.projects.putMember({ projectId, userId: v.id, role: "ROLE_VIEWER" }, t);
    expect((await store.clients.projects.getProject({ id: projectId }, { token: v.token })).project?.role).toBe("ROLE_VIEWER");
    await proxy.up();
    await new Promise((r) => setTimeout(r, 300));
    expect((await store.clients.projects.getProject({ id: projectId }, t)).project?.name).toBe("during the outage");
  });

  it("starts and serves with Redis pointing at a dead port", async () => {
    const dead = await tcpProxy(6379, { startDown: true });
    const s = await startTestStore({ driver: "pglite", redis: `redis://127.0.0.1:${dead.port}` });
    try {
      const u = await s.register("dead");
      const { project } = await s.clients.projects.createProject({ name: "no cache" }, { token: u.token });
      expect((await s.clients.projects.getProject({ id: project!.id }, { token: u.token })).project?.name).toBe("no cache");
    } finally {
      await s.shutdown();
      await dead.close();
    }
  });
});

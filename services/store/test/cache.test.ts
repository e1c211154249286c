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

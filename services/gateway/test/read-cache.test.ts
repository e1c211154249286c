// The gateway's read cache for GET /nodes/:id (src/cache/read-cache.ts): each consistency rule
// against real processes (store, two gateways, PostgreSQL, Redis, RabbitMQ). Gateway 0 reaches
// RabbitMQ through a proxy the test can cut. TTLs are long here, so only the rule under test can
// make a stale answer fresh; the TTL and the bounds have their own stack below.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import amqp from "amqplib";
import pg from "pg";
import { Redis } from "ioredis";
import { tcpProxy } from "@sker/testkit/tcp-proxy";
import { client, register, type Req } from "@sker/testkit/http";
import { startStack, type Stack } from "@sker/testkit/stack";
import { RABBITMQ_URL, REDIS_URL } from "@sker/testkit/urls";
import { channelPool, promiseClient } from "@sker/kit";
import { UserServiceService } from "@sker/contracts/store/v1/user";
import { adminCli } from "./support/admin-cli.js";

type User = Awaited<ReturnType<typeof register>>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** gateway_read_cache_reads_total by result, from the gateway's /metrics. */
async function reads(url: string): Promise<{ hit: number; miss: number; bypass: number; entries: number; bytes: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const num = (re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
  return {
    hit: num(/gateway_read_cache_reads_total\{result="hit",route="node"[^}]*\} (\d+)/),
    miss: num(/gateway_read_cache_reads_total\{result="miss",route="node"[^}]*\} (\d+)/),
    bypass: num(/gateway_read_cache_reads_total\{result="bypass",route="node"[^}]*\} (\d+)/),
    entries: num(/gateway_read_cache_entries(?:\{[^}]*\})? (\d+)/),
    bytes: num(/gateway_read_cache_bytes(?:\{[^}]*\})? (\d+)/),
  };
}

/** Reads until a read is answered from memory (the first binds the project, the next fills). */
async function warm(url: string, token: string, nodeId: string): Promise<void> {
  const api = client(url);
  for (let i = 0; i < 50; i++) {
    const before = (await reads(url)).hit;
    expect((await api("GET", `/api/v1/nodes/${nodeId}`, { token })).status).toBe(200);
    if ((await reads(url)).hit > before) return;
    await sleep(50);
  }
  throw new Error("the node never came from the cache");
}

/** What GET answers on `url`, and whether it came from memory. */
async function read(url: string, token: string, nodeId: string) {
  const before = (await reads(url)).hit;
  const res = await client(url)("GET", `/api/v1/nodes/${nodeId}`, { token });
  return { status: res.status, title: res.body?.data?.title as string | undefined, version: res.body?.data?.version as number | undefined, cached: (await reads(url)).hit > before };
}

/** Graph reads answered from memory so far. */
async function graphHits(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/gateway_read_cache_reads_total\{result="hit",route="graph"[^}]*\} (\d+)/.exec(text)?.[1] ?? 0);
}

/** GET /projects/:id/graph on `url`, and whether it came from memory. */
async function graphOf(url: string, token: string, projectId: string) {
  const before = await graphHits(url);
  const res = await client(url)("GET", `/api/v1/projects/${projectId}/graph`, { token });
  const data = res.body?.data as { nodes: { id: string; title: string }[]; connections: { id: string }[] } | undefined;
  return { status: res.status, titles: data?.nodes.map((n) => n.title).sort() ?? [], connections: data?.connections.map((c) => c.id) ?? [], cached: (await graphHits(url)) > before };
}

async function warmGraph(url: string, token: string, projectId: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const g = await graphOf(url, token, projectId);
    expect(g.status).toBe(200);
    if (g.cached) return;
    await sleep(50);
  }
  throw new Error("the graph never came from the cache");
}

/** Polls until `ok`, up to `ms`. */
async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 5_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > until) return v;
    await sleep(50);
  }
}

/** A change the bus never hears of: the row, and the store's own cache entry of it. */
async function silently(stack: Stack, nodeId: string, title: string): Promise<void> {
  const db = new pg.Client({ connectionString: stack.env.DATABASE_URL });
  await db.connect();
  await db.query("UPDATE nodes SET title = $1 WHERE id = $2", [title, nodeId]);
  await db.end();
  const redis = new Redis(REDIS_URL);
  await redis.del(`${stack.env.REDIS_KEY_PREFIX}node:${nodeId}`);
  redis.disconnect();
}

async function projectWithNode(api: Req, owner: User, title = "first") {
  const projectId = (await api("POST", "/api/v1/projects", { token: owner.accessToken, body: { name: "rc" } })).body.data.id as string;
  const node = (await api("POST", "/api/v1/nodes", { token: owner.accessToken, body: { projectId, title, content: "c" } })).body.data;
  return { projectId, nodeId: node.id as string };
}

describe("read cache: consistency rules (2 gateways, gateway 0 behind a RabbitMQ proxy)", () => {
  let stack: Stack;
  let proxy: Awaited<ReturnType<typeof tcpProxy>>;
  let gw0: string;
  let gw1: string;
  let api0: Req;
  let api1: Req;

  beforeAll(async () => {
    const mq = new URL(RABBITMQ_URL);
    proxy = await tcpProxy({ host: mq.hostname, port: Number(mq.port || 5672) });
    const proxied = new URL(RABBITMQ_URL);
    proxied.host = `127.0.0.1:${proxy.port}`;
    // Gateway 0 through the proxy; long TTLs and no periodic check: only the rule under test refreshes.
    const gatewayEnv = { READ_CACHE_TTL_MS: "600000", READ_CACHE_ACCESS_TTL_MS: "600000", WS_SEQ_CHECK_MS: "600000" };
    stack = await startStack({ gateways: 1, withBroker: false, gatewayEnv: { ...gatewayEnv, RABBITMQ_URL: proxied.toString() } });
    // Gateway 1 on the real RabbitMQ: a second stack's gateway would have its own store, so start it by hand.
    const { loadGatewayConfig, startGateway } = await import("@sker/gateway");
    const g1 = await startGateway(loadGatewayConfig({ RATE_LIMIT_AUTH_PER_IP: "100000", RATE_LIMIT_PER_USER: "100000", ...stack.env, ...gatewayEnv }));
    stack.gateways.push(g1);
    gw0 = stack.url;
    gw1 = `http://127.0.0.1:${g1.port}`;
    api0 = client(gw0);
    api1 = client(gw1);
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
    await proxy?.close();
  });


  it("writes answered by another gateway reach this one's cache as events", async () => {
    const owner = await register(api0, "ev");
    const { nodeId } = await projectWithNode(api0, owner);
    await warm(gw0, owner.accessToken, nodeId);
    expect((await api1("PATCH", `/api/v1/nodes/${nodeId}`, { token: owner.accessToken, body: { title: "elsewhere" } })).status).toBe(200);
    const seen = await eventually(() => read(gw0, owner.accessToken, nodeId), (r) => r.title === "elsewhere");
    expect(seen.title).toBe("elsewhere");
    // And it is cached again afterwards.
    await warm(gw0, owner.accessToken, nodeId);
    expect((await read(gw0, owner.accessToken, nodeId)).title).toBe("elsewhere");
  });

  it("the cache is bypassed and dropped while the bus is disconnected, and the change made meanwhile is read", async () => {
    const owner = await register(api0, "bus");
    const { nodeId } = await projectWithNode(api0, owner);
    await warm(gw0, owner.accessToken, nodeId);
    proxy.cut();
    try {
      await sleep(300);
      // Published while gateway 0 had no queue: it never gets this event.
      expect((await api1("PATCH", `/api/v1/nodes/${nodeId}`, { token: owner.accessToken, body: { title: "while away" } })).status).toBe(200);
      const before = await reads(gw0);
      const r = await read(gw0, owner.accessToken, nodeId);
      expect(r).toMatchObject({ status: 200, title: "while away", cached: false });
      expect((await reads(gw0)).bypass).toBeGreaterThan(before.bypass);
    } finally {
      proxy.restore();
    }
    // Re-attached: cached again, and still right.
    await warm(gw0, owner.accessToken, nodeId);
    expect((await read(gw0, owner.accessToken, nodeId)).title).toBe("while away");
  });

  it("a change lost with its event is read once the project's events show a gap in seq", async () => {
    const owner = await register(api0, "gap");
    const { projectId, nodeId } = await projectWithNode(api0, owner);
    await warm(gw0, owner.accessToken, nodeId);
    await silently(stack, nodeId, "lost event");
    expect(await read(gw0, owner.accessToken, nodeId)).toMatchObject({ title: "first", cached: true });
    // A later event whose seq skips ahead (the ones between were lost): the project is dropped.
    const db = new pg.Client({ connectionString: stack.env.DATABASE_URL });
    await db.connect();
    const seq = Number((await db.query("SELECT event_seq FROM projects WHERE id = $1", [projectId])).rows[0].event_seq);
    await db.end();
    const conn = await amqp.connect(RABBITMQ_URL);
    const ch = await conn.createChannel();
    const event = { projectId, seq: seq + 3, name: "connection.updated", data: {}, at: new Date().toISOString(), actor: null };
    ch.publish(stack.env.SKER_EVENTS_EXCHANGE, `project.${projectId}`, Buffer.from(JSON.stringify(event)));
    await ch.close();
    await conn.close();
    const seen = await eventually(() => read(gw0, owner.accessToken, nodeId), (r) => r.title === "lost event");
    expect(seen).toMatchObject({ title: "lost event", cached: false });
  });

  it("a member removed on another gateway is refused on this one as soon as the event arrives", async () => {
    const owner = await register(api0, "own");
    const viewer = await register(api0, "view");
    const { projectId, nodeId } = await projectWithNode(api0, owner);
    expect((await api0("PUT", `/api/v1/projects/${projectId}/members/${viewer.user.id}`, { token: owner.accessToken, body: { role: "viewer" } })).status).toBe(200);
    await warm(gw0, viewer.accessToken, nodeId);
    expect((await api1("DELETE", `/api/v1/projects/${projectId}/members/${viewer.user.id}`, { token: owner.accessToken })).status).toBe(204);
    const refused = await eventually(() => read(gw0, viewer.accessToken, nodeId), (r) => r.status === 404, 3_000);
    expect(refused.status).toBe(404);
    // The owner's own entry is unaffected in what it answers.
    expect((await read(gw0, owner.accessToken, nodeId)).status).toBe(200);
  });


  it("a user disabled on another gateway, or logged out there, is refused on this one at once", async () => {
    const admin = await register(api0, "root");
    const granted = await adminCli(stack.env, "grant", admin.user.email);
    expect(granted.code, granted.out).toBe(0);
    const owner = await register(api0, "dis");
    const { nodeId } = await projectWithNode(api0, owner);
    await warm(gw0, owner.accessToken, nodeId);
    expect((await api1("POST", `/api/system/users/${owner.user.id}/disable`, { token: admin.accessToken })).status).toBe(200);
    const refused = await eventually(() => read(gw0, owner.accessToken, nodeId), (r) => r.status === 401, 3_000);
    expect(refused.status).toBe(401);

    const other = await register(api0, "out");
    const p2 = await projectWithNode(api0, other);
    await warm(gw0, other.accessToken, p2.nodeId);
    expect((await api1("POST", "/api/v1/auth/logout", { token: other.accessToken, body: { refreshToken: other.refreshToken } })).status).toBe(204);
    const out = await eventually(() => read(gw0, other.accessToken, p2.nodeId), (r) => r.status === 401, 3_000);
    expect(out.status).toBe(401);
  });

  it("graph: writes answered by another gateway reach this one's cached graph as events; strangers never get it", async () => {
    const owner = await register(api0, "gev");
    const stranger = await register(api0, "gstr");
    const { projectId, nodeId } = await projectWithNode(api0, owner);
    await warmGraph(gw0, owner.accessToken, projectId);
    expect((await graphOf(gw0, stranger.accessToken, projectId)).status).toBe(404);
    expect((await api1("PATCH", `/api/v1/nodes/${nodeId}`, { token: owner.accessToken, body: { title: "renamed" } })).status).toBe(200);
    expect((await eventually(() => graphOf(gw0, owner.accessToken, projectId), (g) => g.titles.includes("renamed"))).titles).toEqual(["renamed"]);
    const other = (await api1("POST", "/api/v1/nodes", { token: owner.accessToken, body: { projectId, title: "second" } })).body.data.id as string;
    await warmGraph(gw0, owner.accessToken, projectId);
    const link = (await api1("POST", "/api/v1/connections", { token: owner.accessToken, body: { projectId, sourceNodeId: nodeId, targetNodeId: other, type: "related" } })).body.data.id as string;
    expect((await eventually(() => graphOf(gw0, owner.accessToken, projectId), (g) => g.connections.includes(link))).connections).toEqual([link]);
  });

  it("never answers a cached node to a caller who may not read its project", async () => {
    const owner = await register(api0, "sec");
    const stranger = await register(api0, "str");
    const { nodeId } = await projectWithNode(api0, owner);
    await warm(gw0, owner.accessToken, nodeId);
    for (let i = 0; i < 3; i++) expect((await read(gw0, stranger.accessToken, nodeId)).status).toBe(404);
  });

  it("nothing of a project is kept before the project is bound on the bus", async () => {
    const owner = await register(api0, "bind");
    const { nodeId } = await projectWithNode(api0, owner);
    const before = await reads(gw0);
    expect((await read(gw0, owner.accessToken, nodeId)).cached).toBe(false);
    // The first read only asked for the bind: nothing was put.
    expect((await reads(gw0)).entries).toBe(before.entries);
  });
});

describe("read cache: writes through this gateway, and lost revocations (a gateway that hears no event: only the rule under test refreshes)", () => {
  let stack: Stack;
  let api: Req;
  let gw0: string;
  let api0: Req;

  beforeAll(async () => {
    // The store's relay publishes on another exchange: this gateway gets no event at all.
    stack = await startStack({ withBroker: false, gatewayEnv: { SKER_EVENTS_EXCHANGE: `deaf.${Date.now()}`, WS_SEQ_CHECK_MS: "600000", READ_CACHE_TTL_MS: "600000", READ_CACHE_ACCESS_TTL_MS: "1500" } });
    api = api0 = client(stack.url);
    gw0 = stack.url;
  }, 60_000);
  afterAll(async () => stack?.close());

  it("read-your-writes: PATCH, rollback, DELETE and restore answered by this gateway show on its next read at once", async () => {
    const owner = await register(api0, "ryw");
    const { nodeId } = await projectWithNode(api0, owner);
    for (let i = 0; i < 5; i++) {
      await warm(gw0, owner.accessToken, nodeId);
      expect((await api0("PATCH", `/api/v1/nodes/${nodeId}`, { token: owner.accessToken, body: { title: `t${i}` } })).status).toBe(200);
      expect((await read(gw0, owner.accessToken, nodeId)).title).toBe(`t${i}`);
    }
    await warm(gw0, owner.accessToken, nodeId);
    const rolled = await api0("POST", `/api/v1/nodes/${nodeId}/rollback`, { token: owner.accessToken, body: { version: 1 } });
    expect(rolled.status).toBe(200);
    expect(await read(gw0, owner.accessToken, nodeId)).toMatchObject({ title: "first", version: rolled.body.data.version });
    await warm(gw0, owner.accessToken, nodeId);
    expect((await api0("DELETE", `/api/v1/nodes/${nodeId}`, { token: owner.accessToken })).status).toBe(204);
    expect(await read(gw0, owner.accessToken, nodeId)).toMatchObject({ status: 404, cached: false });
    expect((await api0("POST", `/api/v1/nodes/${nodeId}/restore`, { token: owner.accessToken })).status).toBe(200);
    expect((await read(gw0, owner.accessToken, nodeId)).status).toBe(200);
  });

  it("graph: node and connection writes answered by this gateway show in its next graph read at once", async () => {
    const owner = await register(api0, "gryw");
    const { projectId, nodeId } = await projectWithNode(api0, owner);
    await warmGraph(gw0, owner.accessToken, projectId);
    expect((await api0("PATCH", `/api/v1/nodes/${nodeId}`, { token: owner.accessToken, body: { title: "edited" } })).status).toBe(200);
    expect((await graphOf(gw0, owner.accessToken, projectId)).titles).toEqual(["edited"]);
    await warmGraph(gw0, owner.accessToken, projectId);
    const other = (await api0("POST", "/api/v1/nodes", { token: owner.accessToken, body: { projectId, title: "added" } })).body.data.id as string;
    expect((await graphOf(gw0, owner.accessToken, projectId)).titles).toEqual(["added", "edited"]);
    await warmGraph(gw0, owner.accessToken, projectId);
    const link = (await api0("POST", "/api/v1/connections", { token: owner.accessToken, body: { projectId, sourceNodeId: nodeId, targetNodeId: other, type: "related" } })).body.data.id as string;
    expect((await graphOf(gw0, owner.accessToken, projectId)).connections).toEqual([link]);
    await warmGraph(gw0, owner.accessToken, projectId);
    expect((await api0("DELETE", `/api/v1/connections/${link}`, { token: owner.accessToken })).status).toBe(204);
    expect((await graphOf(gw0, owner.accessToken, projectId)).connections).toEqual([]);
  });

  it("a member removed through this gateway is refused by its next read at once", async () => {
    const owner = await register(api0, "own2");
    const viewer = await register(api0, "view2");
    const { projectId, nodeId } = await projectWithNode(api0, owner);
    expect((await api0("PUT", `/api/v1/projects/${projectId}/members/${viewer.user.id}`, { token: owner.accessToken, body: { role: "viewer" } })).status).toBe(200);
    await warm(gw0, viewer.accessToken, nodeId);
    expect((await api0("DELETE", `/api/v1/projects/${projectId}/members/${viewer.user.id}`, { token: owner.accessToken })).status).toBe(204);
    expect((await read(gw0, viewer.accessToken, nodeId)).status).toBe(404);
  });

  it("a revocation whose announcement never came is refused within the access TTL; one made through this gateway at once", async () => {
    const admin = await register(api, "root2");
    expect((await adminCli(stack.env, "grant", admin.user.email)).code).toBe(0);
    const owner = await register(api, "ttl");
    const { nodeId } = await projectWithNode(api, owner);
    await warm(stack.url, owner.accessToken, nodeId);
    // Straight at the store: no write through this gateway, and its announcement is on a bus this gateway does not hear.
    const pool = channelPool(`127.0.0.1:${stack.storePort}`, 1);
    try {
      await promiseClient(UserServiceService, pool, { deadlineMs: 10_000, retries: 0 }).setUserDisabled({ userId: owner.user.id, disabled: true }, { token: admin.accessToken });
    } finally {
      pool.close();
    }
    const refused = await eventually(() => read(stack.url, owner.accessToken, nodeId), (r) => r.status === 401, 4_000);
    expect(refused.status).toBe(401);

    const other = await register(api, "ttl2");
    const p2 = await projectWithNode(api, other);
    await warm(stack.url, other.accessToken, p2.nodeId);
    expect((await api("POST", `/api/system/users/${other.user.id}/disable`, { token: admin.accessToken })).status).toBe(200);
    expect((await read(stack.url, other.accessToken, p2.nodeId)).status).toBe(401);
  });
});

describe("read cache: the periodic seq check (a gateway that hears no event)", () => {
  let stack: Stack;
  let api: Req;
  let gw0: string;
  let api0: Req;

  beforeAll(async () => {
    // The store's relay publishes on another exchange: this gateway gets no event at all.
    stack = await startStack({ withBroker: false, gatewayEnv: { SKER_EVENTS_EXCHANGE: `deaf.${Date.now()}`, WS_SEQ_CHECK_MS: "300", READ_CACHE_TTL_MS: "600000", READ_CACHE_ACCESS_TTL_MS: "600000" } });
    api = api0 = client(stack.url);
    gw0 = stack.url;
  }, 60_000);
  afterAll(async () => stack?.close());

  it("a change whose event never came is read once the periodic check finds the store ahead", async () => {
    const owner = await register(api, "chk");
    const { projectId, nodeId } = await projectWithNode(api, owner);
    await warm(stack.url, owner.accessToken, nodeId);
    await silently(stack, nodeId, "checked");
    const db = new pg.Client({ connectionString: stack.env.DATABASE_URL });
    await db.connect();
    await db.query("UPDATE projects SET event_seq = event_seq + 1 WHERE id = $1", [projectId]);
    await db.end();
    const seen = await eventually(() => read(stack.url, owner.accessToken, nodeId), (r) => r.title === "checked", 5_000);
    expect(seen.title).toBe("checked");
  });
});

describe("read cache: bounds, TTL and the off switch", () => {
  let stack: Stack;
  let api: Req;

  beforeAll(async () => {
    stack = await startStack({ withBroker: false, gatewayEnv: { READ_CACHE_MAX_ENTRIES: "2", READ_CACHE_MAX_BYTES: "65536", READ_CACHE_TTL_MS: "800", WS_SEQ_CHECK_MS: "600000" } });
    api = client(stack.url);
  }, 60_000);
  afterAll(async () => stack?.close());

  it("holds at most READ_CACHE_MAX_ENTRIES nodes (least recently used leave)", async () => {
    const owner = await register(api, "lru");
    const { projectId, nodeId: a } = await projectWithNode(api, owner);
    const more = [];
    for (const t of ["b", "c"]) more.push((await api("POST", "/api/v1/nodes", { token: owner.accessToken, body: { projectId, title: t } })).body.data.id as string);
    for (const id of [a, ...more]) await warm(stack.url, owner.accessToken, id);
    expect((await reads(stack.url)).entries).toBe(2);
    // The first one was evicted: read from the store again.
    expect((await read(stack.url, owner.accessToken, a)).cached).toBe(false);
  });

  it("holds no node bigger than its share of READ_CACHE_MAX_BYTES", async () => {
    const owner = await register(api, "big");
    const projectId = (await api("POST", "/api/v1/projects", { token: owner.accessToken, body: { name: "big" } })).body.data.id as string;
    const big = (await api("POST", "/api/v1/nodes", { token: owner.accessToken, body: { projectId, title: "big", content: "x".repeat(20_000) } })).body.data.id as string;
    for (let i = 0; i < 5; i++) {
      expect((await read(stack.url, owner.accessToken, big)).cached).toBe(false);
      await sleep(50);
    }
    expect((await reads(stack.url)).bytes).toBeLessThanOrEqual(65_536);
  });

  it("an entry expires after READ_CACHE_TTL_MS even if no event says so", async () => {
    const owner = await register(api, "ttl");
    const { nodeId } = await projectWithNode(api, owner);
    await warm(stack.url, owner.accessToken, nodeId);
    await silently(stack, nodeId, "expired");
    // Read on meanwhile (from memory), so the project stays bound: only the TTL ends the entry.
    expect((await read(stack.url, owner.accessToken, nodeId)).cached).toBe(true);
    const seen = await eventually(() => read(stack.url, owner.accessToken, nodeId), (r) => r.title === "expired", 3_000);
    expect(seen.title).toBe("expired");
  });

  it("READ_CACHE=off: every read goes to the store", async () => {
    const off = await startStack({ withBroker: false, gatewayEnv: { READ_CACHE: "off" } });
    try {
      const a = client(off.url);
      const owner = await register(a, "off");
      const { nodeId } = await projectWithNode(a, owner);
      for (let i = 0; i < 5; i++) expect((await read(off.url, owner.accessToken, nodeId)).cached).toBe(false);
      expect(await reads(off.url)).toMatchObject({ hit: 0, miss: 0, bypass: 5 });
    } finally {
      await off.close();
    }
  });
});

import amqp from "amqplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BusEvent } from "@sker/kit";
import { tcpProxy, type TcpProxy } from "@sker/testkit/tcp-proxy";
import { startTestStore, type TestStore, type TestUser } from "@sker/testkit/store";
import { RABBITMQ_URL } from "@sker/testkit/urls";

/** A consumer straight on the machine's RabbitMQ, bound to every project of one exchange. */
async function consume(exchange: string) {
  const conn = await amqp.connect(RABBITMQ_URL);
  const ch = await conn.createChannel();
  await ch.assertExchange(exchange, "topic", { durable: true });
  const { queue } = await ch.assertQueue("", { exclusive: true, autoDelete: true });
  await ch.bindQueue(queue, exchange, "project.*");
  const got: BusEvent[] = [];
  await ch.consume(queue, (m) => m && got.push(JSON.parse(m.content.toString())), { noAck: true });
  return {
    got,
    close: async () => {
      await ch.deleteExchange(exchange).catch(() => undefined);
      await conn.close();
    },
  };
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 30_000) {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const seqsOf = (events: BusEvent[], projectId: string) => events.filter((e) => e.projectId === projectId).map((e) => e.seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("outbox relay with RabbitMQ unreachable, then back", () => {
  let proxy: TcpProxy;
  let store: TestStore;
  let consumer: Awaited<ReturnType<typeof consume>>;
  let alice: TestUser;

  beforeAll(async () => {
    proxy = await tcpProxy(5672, { startDown: true });
    store = await startTestStore({ driver: "pg", rabbitmq: `amqp://guest:guest@127.0.0.1:${proxy.port}` });
    consumer = await consume(store.exchange);
    alice = await store.register("alice");
  });
  afterAll(async () => {
    await store?.shutdown();
    await consumer?.close();
    await proxy?.close();
  });

  const unpublished = async () =>
    (await store.db.selectFrom("events").select((eb) => eb.fn.countAll<number>().as("n")).where("published_at", "is", null).executeTakeFirstOrThrow()).n;

  it("accepts 100 writes while the bus is down, then publishes each event once, in seq order", async () => {
    const t = { token: alice.token };
    const projectId = (await store.clients.projects.createProject({ name: "outage" }, t)).project!.id;
    const nodeId = (await store.clients.nodes.createNode({ projectId, title: "n" }, t)).node!.id;
    for (let i = 0; i < 100; i++) await store.clients.nodes.updateNode({ id: nodeId, content: `v${i}` }, t);
    expect(await unpublished()).toBe(101);
    expect(consumer.got).toHaveLength(0);

    await proxy.up();
    await until("101 events", () => consumer.got.length >= 101);
    await new Promise((r) => setTimeout(r, 500)); // a duplicate would arrive now
    expect(seqsOf(consumer.got, projectId)).toEqual(range(1, 101));
    expect(consumer.got[0]).toMatchObject({ name: "node.created", data: { node: { id: nodeId } } });
    expect(consumer.got[100]).toMatchObject({ name: "node.updated", data: { node: { id: nodeId, content: "v99", version: 101 } } });
    expect(await unpublished()).toBe(0);
  });

  it("survives the connection being cut (a RabbitMQ restart): reconnects and delivers the rest once", async () => {
    const t = { token: alice.token };
    const projectId = (await store.clients.projects.createProject({ name: "restart" }, t)).project!.id;
    const before = consumer.got.length;
    await store.clients.projects.updateProject({ id: projectId, description: "before" }, t);
    await until("the first event", () => consumer.got.length === before + 1);
    await proxy.down();
    for (let i = 0; i < 20; i++) await store.clients.projects.updateProject({ id: projectId, description: `during ${i}` }, t);
    await proxy.up();
    await until("21 events", () => seqsOf(consumer.got, projectId).length >= 21);
    await new Promise((r) => setTimeout(r, 500));
    expect(seqsOf(consumer.got, projectId)).toEqual(range(1, 21));
    expect(await unpublished()).toBe(0);
  });
});

describe("outbox relay across two store replicas on one database", () => {
  let a: TestStore;
  let b: TestStore;
  let consumer: Awaited<ReturnType<typeof consume>>;
  beforeAll(async () => {
    a = await startTestStore({ driver: "pg", rabbitmq: true });
    b = await startTestStore({ driver: "pg", rabbitmq: true, shareDb: a.testDb, env: { SKER_EVENTS_EXCHANGE: a.exchange, JWT_SECRET: a.config.common.jwtSecret } });
    consumer = await consume(a.exchange);
  });
  afterAll(async () => {
    await b?.shutdown();
    await a?.shutdown();
    await consumer?.close();
  });

  it("publishes every event exactly once, in seq order, whichever replica wrote it", async () => {
    const u = await a.register("twin");
    const t = { token: u.token };
    const projectId = (await a.clients.projects.createProject({ name: "twins" }, t)).project!.id;
    await Promise.all(range(1, 40).map((i) => (i % 2 ? a : b).clients.projects.updateProject({ id: projectId, description: `w${i}` }, t)));
    await until("40 events", () => seqsOf(consumer.got, projectId).length >= 40);
    await new Promise((r) => setTimeout(r, 500));
    expect(seqsOf(consumer.got, projectId)).toEqual(range(1, 40));
  });
});

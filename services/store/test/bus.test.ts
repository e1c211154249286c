import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { createEventBus, createLogger, type BusEvent, type EventBus } from "@sker/kit";
import { tcpProxy } from "@sker/testkit/tcp-proxy";
import { RABBITMQ_URL } from "@sker/testkit/urls";

const log = createLogger("bus-test", "silent");
const ev = (projectId: string, seq: number): BusEvent => ({ projectId, seq, name: "project.updated", data: { seq }, at: new Date().toISOString() });

async function until(ok: () => boolean, ms = 15_000) {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.each([
  ["in-process", undefined],
  ["rabbitmq", RABBITMQ_URL],
] as const)("EventBus (%s)", (_kind, url) => {
  const buses: EventBus[] = [];
  afterAll(async () => {
    for (const b of buses) await b.close();
  });

  it("delivers only the watched projects' events, in order, to each subscriber", async () => {
    const exchange = `sker.t.${randomBytes(4).toString("hex")}.events`;
    const pub = createEventBus({ url, exchange, log });
    const sub = createEventBus({ url, exchange, log });
    buses.push(pub, sub);
    const got: BusEvent[] = [];
    const s = await sub.subscribe((e) => got.push(e));
    await s.watch("p1");
    for (let i = 1; i <= 5; i++) await pub.publish(ev("p1", i));
    await pub.publish(ev("p2", 1));
    await until(() => got.length >= 5);
    await s.unwatch("p1");
    await pub.publish(ev("p1", 6));
    await new Promise((r) => setTimeout(r, 200));
    expect(got.map((e) => [e.projectId, e.seq])).toEqual([1, 2, 3, 4, 5].map((n) => ["p1", n]));
    expect(got[0].data).toEqual({ seq: 1 });
    await s.close();
  });
});

describe("RabbitMQ EventBus across a broken connection", () => {
  it("fails publish fast while down, then reconnects publisher and subscriber with their bindings", async () => {
    const proxy = await tcpProxy(5672);
    const exchange = `sker.t.${randomBytes(4).toString("hex")}.events`;
    const url = `amqp://guest:guest@127.0.0.1:${proxy.port}`;
    const pub = createEventBus({ url, exchange, log, publishWaitMs: 200 });
    const sub = createEventBus({ url, exchange, log });
    try {
      const got: BusEvent[] = [];
      const s = await sub.subscribe((e) => got.push(e));
      await s.watch("p");
      await until(() => (sub as unknown as { connected: boolean }).connected);
      await pub.publish(ev("p", 1));
      await until(() => got.length === 1);
      await proxy.down();
      await expect(pub.publish(ev("p", 2))).rejects.toMatchObject({ code: "UNAVAILABLE" });
      await proxy.up();
      await until(() => (pub as unknown as { connected: boolean }).connected && (sub as unknown as { connected: boolean }).connected);
      await pub.publish(ev("p", 3));
      await until(() => got.length === 2);
      expect(got.map((e) => e.seq)).toEqual([1, 3]);
    } finally {
      await pub.close();
      await sub.close();
      await proxy.close();
    }
  });
});

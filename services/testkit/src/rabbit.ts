import { randomBytes } from "node:crypto";
import amqplib from "amqplib";
import { queueNames } from "@sker/broker";
import { RABBITMQ_URL } from "./urls.js";

/** A queue prefix of its own per test file, so parallel runs never share a queue. */
export const uniquePrefix = (what: string) => `test.${what}.${randomBytes(4).toString("hex")}`;

/** Removes everything the broker declared under a prefix (and an events exchange). */
export async function deleteTopology(prefix: string, retryBaseMs: number, retryMaxMs: number, extraExchanges: string[] = []): Promise<void> {
  const n = queueNames(prefix, retryBaseMs, retryMaxMs);
  const conn = await amqplib.connect(RABBITMQ_URL);
  try {
    for (const q of [n.taskQueue, n.deadLetterQueue, ...n.delayQueues.map((d) => d.name)]) {
      const ch = await conn.createChannel();
      await ch.deleteQueue(q).catch(() => undefined);
      await ch.close().catch(() => undefined);
    }
    for (const x of [n.taskExchange, n.controlExchange, ...extraExchanges]) {
      const ch = await conn.createChannel();
      await ch.deleteExchange(x).catch(() => undefined);
      await ch.close().catch(() => undefined);
    }
  } finally {
    await conn.close();
  }
}

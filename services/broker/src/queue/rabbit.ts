import type { Channel, ConfirmChannel, ConsumeMessage, Message } from "amqplib";
import { AppError, RabbitConnection, type ChannelWrapper, type Logger } from "@sker/kit";
import { delayQueueFor, queueNames, type QueueNames } from "./names.js";
import { AMQP_MAX_PRIORITY, amqpPriority, priorityOf, type DeadLetter, type Delivery, type Priority, type QueueStats, type Settle, type TaskMessage, type TaskQueue } from "./types.js";

// RabbitMQ behind the TaskQueue interface, on the kit's RabbitConnection: it reconnects forever
// and re-runs each channel's setup on every new connection, so the topology is re-declared
// (idempotently) and the consumers come back by themselves after a RabbitMQ restart.
// Deliveries are settled on the channel they arrived on: after a reconnect an old delivery
// tag means nothing to the new channel (RabbitMQ has already requeued the message).

/** The W3C trace headers of a delivery, if it carries any. */
function traceHeaders(headers: Record<string, unknown> | undefined): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const key of ["traceparent", "tracestate"]) if (typeof headers?.[key] === "string") out[key] = headers[key] as string;
  return Object.keys(out).length > 0 ? out : undefined;
}

export interface RabbitQueueOptions {
  url: string;
  prefix: string;
  retryBaseMs: number;
  retryMaxMs: number;
  log: Logger;
  /** How long a publish may wait for a connection and a confirm. */
  publishTimeoutMs?: number;
  heartbeatSeconds?: number;
}

async function declareTopology(ch: Channel | ConfirmChannel, n: QueueNames): Promise<void> {
  await ch.assertExchange(n.taskExchange, "direct", { durable: true });
  await ch.assertQueue(n.taskQueue, { durable: true, arguments: { "x-max-priority": AMQP_MAX_PRIORITY } });
  await ch.bindQueue(n.taskQueue, n.taskExchange, n.routingKey);
  for (const q of n.delayQueues) {
    // A message waits out its TTL, then dead-letters back to the task exchange.
    await ch.assertQueue(q.name, {
      durable: true,
      arguments: { "x-message-ttl": q.ttl, "x-dead-letter-exchange": n.taskExchange, "x-dead-letter-routing-key": n.routingKey },
    });
  }
  await ch.assertQueue(n.deadLetterQueue, { durable: true });
  await ch.assertExchange(n.controlExchange, "fanout", { durable: true });
}

export function rabbitTaskQueue(opts: RabbitQueueOptions): TaskQueue {
  const names = queueNames(opts.prefix, opts.retryBaseMs, opts.retryMaxMs);
  const log = opts.log.child({ component: "task-queue" });
  const connection = new RabbitConnection({ url: opts.url, log, heartbeatSeconds: opts.heartbeatSeconds ?? 5 });
  const timeout = opts.publishTimeoutMs ?? 10_000;
  const publisher = connection.channel({ name: "publish", confirm: true, publishTimeout: timeout, setup: (ch: ConfirmChannel) => declareTopology(ch, names) });
  const admin = connection.channel({ name: "admin", setup: (ch: Channel) => declareTopology(ch, names) });
  let consumer: ChannelWrapper | undefined;
  let control: ChannelWrapper | undefined;
  let consumerTag: { channel: Channel; tag: string } | undefined;
  let stopped = false;

  const body = (v: unknown) => Buffer.from(JSON.stringify(v));
  // Admin reads fail fast while RabbitMQ is away (a /metrics scrape or GetQueueStats must not hang).
  const connectedAdmin = async () => {
    if (!connection.connected) throw new AppError("UNAVAILABLE", "RabbitMQ is unreachable");
    await admin.waitForConnect();
  };
  // Start-up does not wait for RabbitMQ forever: the channel's setup runs whenever it connects.
  const awaitConnect = async (wrapper: ChannelWrapper, what: string) => {
    if (!(await connection.whenReady(wrapper, 5_000))) log.warn(`${what} not connected yet; it starts when RabbitMQ answers`);
  };
  const taskBody = ({ trace: _trace, ...message }: TaskMessage) => body(message);
  const props = (message: TaskMessage, priority: Priority, reclaimed = false) => ({
    persistent: true,
    priority: amqpPriority(priority, reclaimed),
    messageId: message.taskId,
    contentType: "application/json",
    headers: message.trace ?? {},
    timeout,
  });

  return {
    async publish(message, priority, opts = {}) {
      const confirmed = publisher.publish(names.taskExchange, names.routingKey, taskBody(message), {
        ...props(message, priority, opts.reclaimed),
        // A message left waiting for RabbitMQ keeps its place for a while; the reaper is the backstop.
        timeout: opts.waitMs === undefined ? timeout : Math.max(timeout, 60_000),
      });
      if (opts.waitMs === undefined) {
        await confirmed;
        return true;
      }
      confirmed.catch((err: unknown) => log.warn({ err: (err as Error).message, taskId: message.taskId }, "publish not confirmed; the reaper will publish the task"));
      // Known to be disconnected: no point waiting for a confirm that cannot come soon.
      const waitMs = connection.connected ? opts.waitMs : 0;
      return Promise.race([confirmed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), waitMs).unref())]);
    },

    async publishDelayed(message, priority, delayMs) {
      const queue = delayQueueFor(names, delayMs);
      // The per-message expiration gives each retry its own (jittered) delay within the queue's TTL.
      const expiration = String(Math.max(1, Math.min(Math.round(delayMs), queue.ttl)));
      await publisher.sendToQueue(queue.name, taskBody(message), { ...props(message, priority), expiration });
    },

    async deadLetter(letter, priority) {
      await publisher.sendToQueue(names.deadLetterQueue, body(letter), props(letter, priority));
    },

    async takeDeadLetter(taskId) {
      await connectedAdmin();
      const held: Message[] = [];
      let found: DeadLetter | undefined;
      try {
        // Walk the dead letters, holding each unacked, until the task's is found; the rest go back.
        for (let i = 0; i < 100_000; i++) {
          const m = await admin.get(names.deadLetterQueue, { noAck: false });
          if (m === false) break;
          let letter: DeadLetter | undefined;
          try {
            letter = JSON.parse(m.content.toString()) as DeadLetter;
          } catch {
            letter = undefined;
          }
          if (letter?.taskId === taskId) {
            admin.ack(m);
            found = letter;
            break;
          }
          held.push(m);
        }
      } finally {
        for (const m of held) admin.nack(m, false, true);
      }
      return found;
    },

    async pruneDeadLetters(failedBefore) {
      await connectedAdmin();
      // Dead letters queue in the order they failed (a plain FIFO queue): drop from the head
      // until the first one young enough to keep, which goes back.
      let dropped = 0;
      for (let i = 0; i < 100_000; i++) {
        const m = await admin.get(names.deadLetterQueue, { noAck: false });
        if (m === false) break;
        let failedAt = NaN;
        try {
          failedAt = Date.parse((JSON.parse(m.content.toString()) as DeadLetter).failedAt);
        } catch {
          // unreadable: kept for a human to look at
        }
        if (!(failedAt < failedBefore.getTime())) {
          admin.nack(m, false, true);
          break;
        }
        admin.ack(m);
        dropped++;
      }
      return dropped;
    },

    async consume(prefetch, handler) {
      stopped = false;
      // One setup per channel, run in order on every (re)connect: topology first, then the consumer.
      consumer ??= connection.channel({
        name: "consume",
        setup: async (ch: Channel) => {
          await declareTopology(ch, names);
          if (stopped) return;
          await ch.prefetch(prefetch);
          const settle = (m: ConsumeMessage, how: Settle) => {
            try {
              if (how === "ack") ch.ack(m);
              else ch.nack(m, false, true);
            } catch {
              // The channel closed meanwhile: RabbitMQ has requeued the message already.
            }
          };
          const { consumerTag: tag } = await ch.consume(names.taskQueue, (m) => {
            if (!m) return; // cancelled by the server; the next setup starts a new consumer
            let message: TaskMessage;
            try {
              message = JSON.parse(m.content.toString()) as TaskMessage;
              if (typeof message.taskId !== "string") throw new Error("no taskId");
              message.trace = traceHeaders(m.properties.headers);
            } catch (err) {
              log.error({ err: (err as Error).message }, "dropping a malformed task message");
              settle(m, "ack");
              return;
            }
            const delivery: Delivery = { message, priority: priorityOf(m.properties.priority as number | undefined), redelivered: m.fields.redelivered };
            handler(delivery).then(
              (how) => settle(m, how),
              (err: unknown) => {
                log.error({ err, taskId: message.taskId }, "task handler failed; requeueing");
                settle(m, "requeue");
              },
            );
          });
          consumerTag = { channel: ch, tag };
        },
      });
      await awaitConnect(consumer, "task consumer");
    },

    async stopConsuming() {
      stopped = true;
      const c = consumerTag;
      consumerTag = undefined;
      if (c) await c.channel.cancel(c.tag).catch(() => undefined);
    },

    async broadcastCancel(taskId) {
      await publisher.publish(names.controlExchange, "", body({ type: "cancel", taskId }), { contentType: "application/json", timeout });
    },

    async onCancel(handler) {
      control ??= connection.channel({
        name: "control",
        setup: async (ch: Channel) => {
          await declareTopology(ch, names);
          // Each broker process gets its own queue on the fanout; it goes away with the connection.
          const { queue } = await ch.assertQueue("", { exclusive: true, autoDelete: true });
          await ch.bindQueue(queue, names.controlExchange, "");
          await ch.consume(
            queue,
            (m) => {
              if (!m) return;
              try {
                const msg = JSON.parse(m.content.toString()) as { type?: string; taskId?: string };
                if (msg.type === "cancel" && typeof msg.taskId === "string") handler(msg.taskId);
              } catch {
                log.warn("ignoring a malformed control message");
              }
            },
            { noAck: true },
          );
        },
      });
      await awaitConnect(control, "cancel listener");
    },

    async stats(): Promise<QueueStats> {
      await connectedAdmin();
      const check = async (name: string) => {
        const q = await admin.checkQueue(name);
        return { name, messages: q.messageCount, consumers: q.consumerCount };
      };
      const tasks = await check(names.taskQueue);
      const dead = await check(names.deadLetterQueue);
      const delays = await Promise.all(names.delayQueues.map((q) => check(q.name)));
      return { queues: [tasks, ...delays, dead], deadLetters: dead.messages, workers: tasks.consumers };
    },

    async close() {
      stopped = true;
      await connection.close([consumer, control, admin, publisher]);
    },
  };
}

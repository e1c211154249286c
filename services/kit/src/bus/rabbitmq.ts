import type { Channel, ConfirmChannel } from "amqplib";
import { AppError } from "../errors.js";
import type { Logger } from "../logger.js";
import { RabbitConnection, type ChannelWrapper } from "../rabbit.js";
import type { BusEvent, EventBus, EventSubscription } from "../bus.js";

export interface RabbitBusOptions {
  url: string;
  /** Topic exchange; routing key `project.<projectId>`. */
  exchange: string;
  log: Logger;
  /** How long publish waits for a (re)connection before failing with UNAVAILABLE. */
  publishWaitMs?: number;
  /** How long publish waits for the broker's confirm. */
  confirmTimeoutMs?: number;
}

const routingKey = (projectId: string) => `project.${projectId}`;
const unavailable = (why: string) => new AppError("UNAVAILABLE", why);

/**
 * One subscriber: an exclusive auto-delete queue, bound per watched project. Its channel's setup
 * makes the queue, binds every watched project and consumes, then calls `onAttached`, on every
 * connection: the queue died with the last one, so the subscriber catches up from there.
 */
class RabbitSubscription implements EventSubscription {
  readonly watched = new Set<string>();
  private channel: Channel | undefined;
  private queue: string | undefined;
  readonly wrapper: ChannelWrapper;

  constructor(
    private readonly bus: RabbitEventBus,
    conn: RabbitConnection,
    onEvent: (e: BusEvent) => void,
    onAttached: () => void,
    log: Logger,
  ) {
    this.wrapper = conn.channel({
      name: "event-subscription",
      setup: async (ch: Channel) => {
        ch.on("close", () => {
          if (this.channel === ch) this.channel = undefined;
        });
        await ch.assertExchange(bus.exchange, "topic", { durable: true });
        const { queue } = await ch.assertQueue("", { exclusive: true, autoDelete: true, durable: false });
        for (const p of this.watched) await ch.bindQueue(queue, bus.exchange, routingKey(p));
        await ch.consume(
          queue,
          (msg) => {
            if (!msg) return;
            try {
              onEvent(JSON.parse(msg.content.toString("utf8")) as BusEvent);
            } catch (err) {
              log.warn({ err }, "dropping an event that could not be handled");
            }
          },
          { noAck: true },
        );
        this.channel = ch;
        this.queue = queue;
        onAttached();
      },
    });
  }

  async watch(projectId: string): Promise<void> {
    this.watched.add(projectId);
    if (this.channel && this.queue) await this.channel.bindQueue(this.queue, this.bus.exchange, routingKey(projectId));
  }

  async unwatch(projectId: string): Promise<void> {
    this.watched.delete(projectId);
    if (this.channel && this.queue) await this.channel.unbindQueue(this.queue, this.bus.exchange, routingKey(projectId));
  }

  async close(): Promise<void> {
    this.bus.forget(this);
    this.channel = undefined;
    await this.wrapper.close().catch(() => undefined);
  }
}

/**
 * RabbitMQ event bus on the kit's RabbitConnection (reconnects with every subscriber's queue
 * and bindings). publish() resolves on the publisher confirm and fails fast (UNAVAILABLE) while
 * disconnected, so the outbox relay keeps the event and retries instead of hanging.
 */
export class RabbitEventBus implements EventBus {
  readonly exchange: string;
  private readonly conn: RabbitConnection;
  private readonly pub: ChannelWrapper;
  private readonly subs = new Set<RabbitSubscription>();

  constructor(private readonly opts: RabbitBusOptions) {
    this.exchange = opts.exchange;
    this.conn = new RabbitConnection({ url: opts.url, log: opts.log.child({ component: "event-bus" }) });
    this.pub = this.conn.channel({
      name: "event-publish",
      confirm: true,
      setup: async (ch: ConfirmChannel) => {
        await ch.assertExchange(this.exchange, "topic", { durable: true });
      },
    });
  }

  /** The publisher and every subscription are set up on a live connection. */
  get connected(): boolean {
    return this.conn.isReady(this.pub) && [...this.subs].every((s) => this.conn.isReady(s.wrapper));
  }

  async publish(event: BusEvent, opts: { transient?: boolean } = {}): Promise<void> {
    const body = Buffer.from(JSON.stringify(event));
    if (opts.transient) {
      // Never queued for a reconnect: the next message replaces it anyway.
      if (!this.connected) throw unavailable("event bus (RabbitMQ) is not connected");
      this.pub.publish(this.exchange, routingKey(event.projectId), body, { persistent: false, contentType: "application/json", type: event.name }).catch(() => undefined);
      return;
    }
    // Only a publish that may go out now is handed over: a queued one would be sent after the
    // relay gave up on it and published it again.
    if (!(await this.conn.whenReady(this.pub, this.opts.publishWaitMs ?? 1_000))) throw unavailable("event bus (RabbitMQ) is not connected");
    await this.pub
      .publish(
        this.exchange,
        routingKey(event.projectId),
        body,
        { persistent: true, contentType: "application/json", type: event.name, timestamp: Date.now(), timeout: this.opts.confirmTimeoutMs ?? 5_000 },
      )
      .catch((err: unknown) => {
        const why = (err as Error)?.message ?? String(err);
        throw unavailable(why === "timeout" ? "no publisher confirm from RabbitMQ in time" : `RabbitMQ refused the event: ${why}`);
      });
  }

  async subscribe(onEvent: (event: BusEvent) => void, hooks: { onAttached?: () => void } = {}): Promise<EventSubscription> {
    const sub = new RabbitSubscription(this, this.conn, onEvent, hooks.onAttached ?? (() => {}), this.opts.log);
    this.subs.add(sub);
    // Normally the queue exists when this resolves (events published afterwards reach it). While
    // RabbitMQ is away it resolves anyway; the queue and its bindings are made on reconnect.
    await this.conn.whenReady(sub.wrapper, this.opts.publishWaitMs ?? 1_000);
    return sub;
  }

  forget(sub: RabbitSubscription) {
    this.subs.delete(sub);
  }

  async close(): Promise<void> {
    await this.conn.close([...[...this.subs].map((s) => s.wrapper), this.pub]);
    this.subs.clear();
  }
}

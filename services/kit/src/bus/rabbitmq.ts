import amqp, { type Channel, type ChannelModel, type ConfirmChannel } from "amqplib";
import { AppError } from "../errors.js";
import type { Logger } from "../logger.js";
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

/** One subscriber: an exclusive auto-delete queue, bound per watched project, rebuilt on reconnect. */
class RabbitSubscription implements EventSubscription {
  readonly watched = new Set<string>();
  channel: Channel | undefined;
  queue: string | undefined;
  closed = false;

  constructor(
    private readonly bus: RabbitEventBus,
    readonly onEvent: (e: BusEvent) => void,
    private readonly onAttached: () => void = () => {},
  ) {}

  /** (Re)creates the queue and its bindings on a fresh connection. */
  async attach(conn: ChannelModel, exchange: string, log: Logger): Promise<void> {
    const ch = await conn.createChannel();
    ch.on("error", (err) => log.warn({ err: err.message }, "event subscription channel error"));
    ch.on("close", () => {
      if (this.channel === ch) this.channel = undefined;
    });
    const { queue } = await ch.assertQueue("", { exclusive: true, autoDelete: true, durable: false });
    for (const p of this.watched) await ch.bindQueue(queue, exchange, routingKey(p));
    await ch.consume(
      queue,
      (msg) => {
        if (!msg) return;
        try {
          this.onEvent(JSON.parse(msg.content.toString("utf8")) as BusEvent);
        } catch (err) {
          log.warn({ err }, "dropping an event that could not be handled");
        }
      },
      { noAck: true },
    );
    this.channel = ch;
    this.queue = queue;
    this.onAttached();
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
    this.closed = true;
    this.bus.forget(this);
    const ch = this.channel;
    this.channel = undefined;
    await ch?.close().catch(() => undefined);
  }
}

/**
 * RabbitMQ event bus. Connects in the background and reconnects with backoff after any loss
 * (a RabbitMQ restart), re-declaring the exchange and every subscriber's queue and bindings.
 * publish() resolves on the publisher confirm and fails fast (UNAVAILABLE) while disconnected,
 * so the outbox relay keeps the event and retries instead of hanging.
 */
export class RabbitEventBus implements EventBus {
  readonly exchange: string;
  private conn: ChannelModel | undefined;
  private pub: ConfirmChannel | undefined;
  private readonly subs = new Set<RabbitSubscription>();
  private stopped = false;
  private backoff = 200;
  private waiters: (() => void)[] = [];
  private reconnectTimer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: RabbitBusOptions) {
    this.exchange = opts.exchange;
    void this.connect();
  }

  get connected(): boolean {
    return this.pub !== undefined;
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const { log } = this.opts;
    let conn: ChannelModel | undefined;
    try {
      conn = await amqp.connect(this.opts.url, { timeout: 2_000 });
      if (this.stopped) {
        await conn.close().catch(() => undefined);
        return;
      }
      conn.on("error", (err: Error) => log.warn({ err: err.message }, "rabbitmq connection error"));
      const c = conn;
      conn.on("close", () => this.lost(c));
      const pub = await conn.createConfirmChannel();
      pub.on("error", (err: Error) => log.warn({ err: err.message }, "rabbitmq publish channel error"));
      pub.on("close", () => {
        if (this.pub === pub) this.pub = undefined;
        // A channel closed by the broker (not the connection) is reopened on a new connection.
        if (this.conn === c && !this.stopped) void c.close().catch(() => undefined);
      });
      await pub.assertExchange(this.exchange, "topic", { durable: true });
      this.conn = conn;
      for (const s of this.subs) await s.attach(conn, this.exchange, log);
      this.pub = pub;
      this.backoff = 200;
      log.info({ exchange: this.exchange }, "event bus connected");
      for (const w of this.waiters.splice(0)) w();
    } catch (err) {
      if (conn && this.conn === conn) this.conn = undefined;
      await conn?.close().catch(() => undefined);
      log.warn({ err: (err as Error).message, retryInMs: this.backoff }, "rabbitmq unreachable; retrying");
      this.scheduleReconnect();
    }
  }

  private lost(conn: ChannelModel) {
    if (this.conn !== conn) return;
    this.conn = undefined;
    this.pub = undefined;
    for (const s of this.subs) s.channel = undefined;
    if (!this.stopped) {
      this.opts.log.warn("rabbitmq connection lost; reconnecting");
      this.scheduleReconnect();
    }
  }

  private scheduleReconnect() {
    if (this.stopped || this.reconnectTimer) return;
    const delay = this.backoff * (0.75 + Math.random() / 2);
    this.backoff = Math.min(this.backoff * 2, 5_000);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.connect();
    }, delay);
    this.reconnectTimer.unref();
  }

  /** Resolves when connected, or after `ms` regardless (callers check what they need). */
  private async waitForConnection(ms: number): Promise<void> {
    if (this.pub || this.stopped) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  private async publishChannel(): Promise<ConfirmChannel> {
    if (!this.pub) await this.waitForConnection(this.opts.publishWaitMs ?? 1_000);
    if (!this.pub) throw new AppError("UNAVAILABLE", "event bus (RabbitMQ) is not connected");
    return this.pub;
  }

  async publish(event: BusEvent, opts: { transient?: boolean } = {}): Promise<void> {
    if (opts.transient) {
      if (!this.pub) throw new AppError("UNAVAILABLE", "event bus (RabbitMQ) is not connected");
      try {
        this.pub.publish(this.exchange, routingKey(event.projectId), Buffer.from(JSON.stringify(event)), { persistent: false, contentType: "application/json", type: event.name }, () => {});
      } catch (err) {
        throw new AppError("UNAVAILABLE", `event bus channel closed: ${(err as Error).message}`);
      }
      return;
    }
    const ch = await this.publishChannel();
    const body = Buffer.from(JSON.stringify(event));
    const timeoutMs = this.opts.confirmTimeoutMs ?? 5_000;
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new AppError("UNAVAILABLE", "no publisher confirm from RabbitMQ in time")), timeoutMs);
      try {
        ch.publish(
          this.exchange,
          routingKey(event.projectId),
          body,
          { persistent: true, contentType: "application/json", type: event.name, timestamp: Date.now() },
          (err: unknown) => {
            clearTimeout(t);
            if (err) reject(new AppError("UNAVAILABLE", `RabbitMQ refused the event: ${String((err as Error)?.message ?? err)}`));
            else resolve();
          },
        );
      } catch (err) {
        // amqplib throws synchronously on a channel that just closed.
        clearTimeout(t);
        reject(new AppError("UNAVAILABLE", `event bus channel closed: ${(err as Error).message}`));
      }
    });
  }

  async subscribe(onEvent: (event: BusEvent) => void, hooks: { onAttached?: () => void } = {}): Promise<EventSubscription> {
    const sub = new RabbitSubscription(this, onEvent, hooks.onAttached);
    this.subs.add(sub);
    // Normally the queue exists when this resolves (events published afterwards reach it). While
    // RabbitMQ is away it resolves anyway; the queue and its bindings are made on reconnect.
    if (!this.pub) await this.waitForConnection(this.opts.publishWaitMs ?? 1_000);
    if (this.conn && this.pub && !sub.channel) await sub.attach(this.conn, this.exchange, this.opts.log);
    return sub;
  }

  forget(sub: RabbitSubscription) {
    this.subs.delete(sub);
  }

  async close(): Promise<void> {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    for (const w of this.waiters.splice(0)) w();
    const conn = this.conn;
    this.conn = undefined;
    this.pub = undefined;
    await conn?.close().catch(() => undefined);
  }
}

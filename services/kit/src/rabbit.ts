import amqp, { type AmqpConnectionManager, type ChannelWrapper } from "amqp-connection-manager";
import type { Channel, ConfirmChannel } from "amqplib";
import type { Logger } from "./logger.js";

export type { ChannelWrapper };

export interface RabbitOptions {
  url: string;
  log: Logger;
  /** Heartbeats also find a dead peer: a half-open connection is dropped after about two. */
  heartbeatSeconds?: number;
  /** The wait between reconnect attempts. */
  reconnectSeconds?: number;
}

export interface RabbitChannelOptions<C extends Channel> {
  name: string;
  /** Publisher confirms (a ConfirmChannel). */
  confirm?: boolean;
  /** How long a publish on this channel may wait for a connection and its confirm. */
  publishTimeout?: number;
  /** Runs on every new connection, before the channel is used: declare, bind, consume here. */
  setup: (ch: C) => Promise<void>;
}

/**
 * The one RabbitMQ connection module, for the event bus and the task queue alike.
 * amqp-connection-manager reconnects forever and re-runs every channel's setup, in order, on
 * each new connection, so exchanges, queues, bindings and consumers come back by themselves
 * after a RabbitMQ restart. A queue that dies with its connection (exclusive, auto-delete)
 * missed what was published meanwhile: its setup is where the consumer re-syncs from the source
 * of truth. A channel that RabbitMQ closes with an error (a deleted exchange, a precondition)
 * would wait for a reconnect that never comes, so the connection is then remade.
 */
export class RabbitConnection {
  private readonly manager: AmqpConnectionManager;
  private readonly log: Logger;
  /** Channels whose setup has run on the current connection. */
  private readonly ready = new Set<ChannelWrapper>();
  private closing = false;

  constructor(opts: RabbitOptions) {
    const log = (this.log = opts.log);
    this.manager = amqp.connect([opts.url], {
      heartbeatIntervalInSeconds: opts.heartbeatSeconds ?? 5,
      reconnectTimeInSeconds: opts.reconnectSeconds ?? 1,
      connectionOptions: { timeout: 2_000 },
    });
    this.manager.on("connect", () => log.info("connected to RabbitMQ"));
    this.manager.on("disconnect", ({ err }) => {
      this.ready.clear();
      if (!this.closing) log.warn({ err: err?.message }, "disconnected from RabbitMQ; reconnecting");
    });
    this.manager.on("connectFailed", ({ err }) => log.warn({ err: err?.message }, "RabbitMQ connect failed; retrying"));
  }

  get connected(): boolean {
    return this.manager.isConnected();
  }

  /** Set up on the current connection and usable now. */
  isReady(channel: ChannelWrapper): boolean {
    return this.ready.has(channel);
  }

  channel(opts: RabbitChannelOptions<ConfirmChannel> & { confirm: true }): ChannelWrapper;
  channel(opts: RabbitChannelOptions<Channel>): ChannelWrapper;
  channel(opts: RabbitChannelOptions<Channel> | RabbitChannelOptions<ConfirmChannel>): ChannelWrapper {
    const setup = opts.setup as (ch: Channel) => Promise<void>;
    const wrapper: ChannelWrapper = this.manager.createChannel({
      name: opts.name,
      confirm: opts.confirm ?? false,
      publishTimeout: opts.publishTimeout,
      setup: async (ch: Channel) => {
        ch.on("error", (err: Error) => {
          this.ready.delete(wrapper);
          if (this.closing || !this.manager.isConnected()) return;
          this.log.warn({ err: err.message, channel: opts.name }, "RabbitMQ closed a channel; reconnecting");
          this.manager.reconnect();
        });
        await setup(ch);
      },
    });
    wrapper.on("connect", () => this.ready.add(wrapper));
    wrapper.on("close", () => this.ready.delete(wrapper));
    // A failed setup (the connection dropped mid-setup) emits 'error'; with no listener,
    // EventEmitter would throw it out of the wrapper's reconnect handler and kill the process.
    // The setup runs again on the next connection.
    wrapper.on("error", (err: Error, info?: { name?: string }) =>
      this.log.warn({ err: err.message, channel: info?.name ?? opts.name }, "channel setup failed; it is set up again on reconnect"),
    );
    return wrapper;
  }

  /** True once the channel is set up; false after `ms` (it keeps trying in the background). */
  async whenReady(channel: ChannelWrapper, ms: number): Promise<boolean> {
    if (this.isReady(channel)) return true;
    let timer: NodeJS.Timeout | undefined;
    const ok = await Promise.race([
      channel.waitForConnect().then(() => true),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(false), ms);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
    return ok;
  }

  /** Bounded: with RabbitMQ away, closing would wait for a reconnect that may never come. */
  async close(channels: (ChannelWrapper | undefined)[] = [], boundMs = 3_000): Promise<void> {
    this.closing = true;
    const bounded = (p: Promise<unknown>) => Promise.race([p.catch(() => undefined), new Promise((r) => setTimeout(r, boundMs).unref())]);
    await bounded(Promise.allSettled(channels.map((c) => c?.close())));
    await bounded(this.manager.close());
  }
}

import type { BusEvent, EventBus, EventSubscription, Logger } from "@sker/kit";
import { rendered } from "../rest/event.js";

type OnEvent = (event: BusEvent) => void;

/** A listener that also keeps a position in the project's seq and can catch up from the store. */
export interface SeqListener {
  onEvent: OnEvent;
  /**
   * Brings the listener up to the project's latest seq: given it (known from another listener),
   * or else by asking the store. Answers the latest seq it learnt, undefined when it could not.
   */
  catchUp(latest: number | undefined): Promise<number | undefined>;
}
type Listener = OnEvent | SeqListener;

/**
 * This replica's one consumer of the event bus. Sockets register interest per project; the hub
 * binds the project on the bus when the first listener arrives and unbinds when the last one
 * leaves. Bind/unbind of one project run one after another, so a quick leave-and-rejoin never
 * ends unbound.
 * Events published while the bus was detached (RabbitMQ restarting: the queue goes with the
 * connection, and a store that reconnects first publishes into nothing) never arrive, and no
 * later event may come to reveal the gap. So whenever the subscription is attached again, and
 * every `seqCheckMs` besides, each watched project is caught up from the store: one listener
 * asks for the latest seq, and only listeners behind it fetch what they missed.
 */
export class ProjectHub {
  private sub: EventSubscription | undefined;
  private readonly listeners = new Map<string, Set<SeqListener>>();
  private readonly bound = new Set<string>();
  private readonly ops = new Map<string, Promise<void>>();
  private readonly checking = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private readonly attachedHooks: (() => void)[] = [];

  constructor(
    private readonly bus: EventBus,
    private readonly log: Logger,
    private readonly onBoundChange: (count: number) => void = () => {},
    private readonly seqCheckMs = 5_000,
  ) {}

  async start(): Promise<void> {
    this.sub = await this.bus.subscribe((e) => this.dispatch(e), {
      onAttached: () => {
        for (const hook of this.attachedHooks) hook();
        this.catchUpAll("bus attached");
      },
    });
    this.timer = setInterval(() => this.catchUpAll("periodic seq check"), this.seqCheckMs);
    this.timer.unref();
  }

  /** Runs each time the subscription is (re)attached, before the catch-up: what was published meanwhile is lost. */
  onAttached(hook: () => void): void {
    this.attachedHooks.push(hook);
  }

  /** The subscription is set up on a live bus connection (events published now reach it). */
  get connected(): boolean {
    return this.sub !== undefined && this.bus.connected;
  }

  private dispatch(raw: BusEvent): void {
    const set = this.listeners.get(raw.projectId);
    if (!set) return;
    const e = rendered(raw);
    for (const l of [...set]) {
      try {
        l.onEvent(e);
      } catch (err) {
        this.log.warn({ err }, "event listener failed");
      }
    }
  }

  /** Every watched project, each at most one check at a time. */
  catchUpAll(reason: string): void {
    for (const projectId of this.listeners.keys()) {
      if (this.checking.has(projectId)) continue;
      this.checking.add(projectId);
      void this.catchUp(projectId)
        .catch((err: unknown) => this.log.debug({ err, projectId, reason }, "seq check failed; next time"))
        .finally(() => this.checking.delete(projectId));
    }
  }

  private async catchUp(projectId: string): Promise<void> {
    let latest: number | undefined;
    for (const l of [...(this.listeners.get(projectId) ?? [])]) {
      try {
        latest = (await l.catchUp(latest)) ?? latest;
      } catch (err) {
        this.log.debug({ err, projectId }, "a listener could not catch up; next time");
      }
    }
  }

  /** Resolves once the project is bound on the bus: events published after this reach the listener. */
  async add(projectId: string, given: Listener): Promise<() => Promise<void>> {
    const listener: SeqListener = typeof given === "function" ? { onEvent: given, catchUp: async () => undefined } : given;
    let set = this.listeners.get(projectId);
    if (!set) this.listeners.set(projectId, (set = new Set()));
    set.add(listener);
    try {
      await this.sync(projectId);
    } catch (err) {
      await this.remove(projectId, listener);
      throw err;
    }
    let removed = false;
    return async () => {
      if (removed) return;
      removed = true;
      await this.remove(projectId, listener);
    };
  }

  private async remove(projectId: string, listener: SeqListener): Promise<void> {
    const set = this.listeners.get(projectId);
    set?.delete(listener);
    if (set && set.size === 0) this.listeners.delete(projectId);
    await this.sync(projectId).catch((err) => this.log.warn({ err, projectId }, "unbind failed"));
  }

  /** Brings the binding of one project in line with whether anyone listens, serialized per project. */
  private sync(projectId: string): Promise<void> {
    const run = (this.ops.get(projectId) ?? Promise.resolve()).then(async () => {
      if (!this.sub) throw new Error("event hub not started");
      const want = (this.listeners.get(projectId)?.size ?? 0) > 0;
      const has = this.bound.has(projectId);
      if (want && !has) {
        await this.sub.watch(projectId);
        this.bound.add(projectId);
      } else if (!want && has) {
        this.bound.delete(projectId);
        await this.sub.unwatch(projectId);
      }
      this.onBoundChange(this.bound.size);
    });
    const settled = run.catch(() => {});
    this.ops.set(projectId, settled);
    void settled.then(() => {
      if (this.ops.get(projectId) === settled) this.ops.delete(projectId);
    });
    return run;
  }

  get boundCount(): number {
    return this.bound.size;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.listeners.clear();
    await this.sub?.close();
    this.sub = undefined;
    this.bound.clear();
  }
}

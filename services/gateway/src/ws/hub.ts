import type { BusEvent, EventBus, EventSubscription, Logger } from "@sker/kit";

type Listener = (event: BusEvent) => void;

/**
 * This replica's one consumer of the event bus. Sockets register interest per project; the hub
 * binds the project on the bus when the first listener arrives and unbinds when the last one
 * leaves. Bind/unbind of one project run one after another, so a quick leave-and-rejoin never
 * ends unbound.
 */
export class ProjectHub {
  private sub: EventSubscription | undefined;
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly bound = new Set<string>();
  private readonly ops = new Map<string, Promise<void>>();

  constructor(
    private readonly bus: EventBus,
    private readonly log: Logger,
    private readonly onBoundChange: (count: number) => void = () => {},
  ) {}

  async start(): Promise<void> {
    this.sub = await this.bus.subscribe((e) => this.dispatch(e));
  }

  private dispatch(e: BusEvent): void {
    const set = this.listeners.get(e.projectId);
    if (!set) return;
    for (const l of [...set]) {
      try {
        l(e);
      } catch (err) {
        this.log.warn({ err }, "event listener failed");
      }
    }
  }

  /** Resolves once the project is bound on the bus: events published after this reach the listener. */
  async add(projectId: string, listener: Listener): Promise<() => Promise<void>> {
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

  private async remove(projectId: string, listener: Listener): Promise<void> {
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
    this.listeners.clear();
    await this.sub?.close();
    this.sub = undefined;
    this.bound.clear();
  }
}

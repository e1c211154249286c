import type { BusEvent, EventBus, EventSubscription } from "../bus.js";

// The in-process bus (all-in-one mode, RABBITMQ_URL unset). Buses created with the same exchange
// name in one process see each other, like RabbitMQ clients on one exchange. Events travel as
// JSON, so subscribers get what they would get from RabbitMQ (no shared objects, Dates as strings).

type Listener = { watched: Set<string>; onEvent: (e: BusEvent) => void };
const exchanges = new Map<string, Set<Listener>>();

export class MemoryEventBus implements EventBus {
  private readonly mine = new Set<Listener>();

  constructor(private readonly exchange: string) {}

  /** In process: never away. */
  get connected(): boolean {
    return true;
  }

  async publish(event: BusEvent): Promise<void> {
    const body = JSON.stringify(event);
    for (const l of exchanges.get(this.exchange) ?? []) {
      if (!l.watched.has(event.projectId)) continue;
      // Delivered after publish resolves, as a broker would: a slow subscriber never blocks a publisher.
      setImmediate(() => l.onEvent(JSON.parse(body) as BusEvent));
    }
  }

  async subscribe(onEvent: (event: BusEvent) => void): Promise<EventSubscription> {
    const listener: Listener = { watched: new Set(), onEvent };
    let set = exchanges.get(this.exchange);
    if (!set) exchanges.set(this.exchange, (set = new Set()));
    set.add(listener);
    this.mine.add(listener);
    const remove = () => {
      set.delete(listener);
      this.mine.delete(listener);
      if (set.size === 0) exchanges.delete(this.exchange);
    };
    return {
      watch: async (projectId) => void listener.watched.add(projectId),
      unwatch: async (projectId) => void listener.watched.delete(projectId),
      close: async () => remove(),
    };
  }

  async close(): Promise<void> {
    for (const l of this.mine) exchanges.get(this.exchange)?.delete(l);
    this.mine.clear();
  }
}

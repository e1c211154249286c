import { EventEmitter } from "node:events";
import type { DeadLetter, Delivery, Priority, QueueStats, Settle, TaskMessage, TaskQueue } from "./types.js";

// The in-process queue for all-in-one mode (RABBITMQ_URL unset): the same semantics as the
// RabbitMQ one within one process: priorities, bounded unsettled deliveries, requeue,
// delayed retries, dead letters and a cancel fanout. Brokers in one process that use the same
// prefix share it, like brokers sharing a RabbitMQ. Nothing survives the process, which is
// fine: the store still holds every task, and the reaper republishes queued ones at start.

interface Entry {
  message: TaskMessage;
  priority: Priority;
  redelivered: boolean;
}

interface Consumer {
  prefetch: number;
  unsettled: number;
  handler: (d: Delivery) => Promise<Settle>;
  active: boolean;
}

class Shared {
  /** One FIFO per priority, index = priority. */
  readonly ready: Entry[][] = [[], [], [], [], []];
  readonly dead: { letter: DeadLetter; priority: Priority }[] = [];
  readonly consumers: Consumer[] = [];
  readonly control = new EventEmitter();
  readonly timers = new Set<NodeJS.Timeout>();
  private next = 0;

  push(entry: Entry, front = false): void {
    if (front) this.ready[entry.priority].unshift(entry);
    else this.ready[entry.priority].push(entry);
    queueMicrotask(() => this.dispatch());
  }

  depth(): number {
    return this.ready.reduce((n, q) => n + q.length, 0);
  }

  private take(): Entry | undefined {
    for (let p = this.ready.length - 1; p >= 0; p--) if (this.ready[p].length > 0) return this.ready[p].shift();
    return undefined;
  }

  /** Round robin over consumers with room, like RabbitMQ. */
  dispatch(): void {
    for (;;) {
      const free = this.consumers.filter((c) => c.active && c.unsettled < c.prefetch);
      if (free.length === 0 || this.depth() === 0) return;
      const c = free[this.next++ % free.length];
      const entry = this.take()!;
      c.unsettled++;
      c.handler({ message: entry.message, priority: entry.priority, redelivered: entry.redelivered })
        .catch((): Settle => "requeue")
        .then((how) => {
          c.unsettled--;
          if (how === "requeue") this.push({ ...entry, redelivered: true }, true);
          else queueMicrotask(() => this.dispatch());
        });
    }
  }
}

const registry = new Map<string, Shared>();

export function memoryTaskQueue(prefix: string): TaskQueue {
  let shared = registry.get(prefix);
  if (!shared) registry.set(prefix, (shared = new Shared()));
  const s = shared;
  s.control.setMaxListeners(0);
  let mine: Consumer | undefined;
  const cancelHandlers: ((taskId: string) => void)[] = [];
  return {
    async publish(message, priority, opts = {}) {
      // A reclaimed task goes before the others of its priority, as on RabbitMQ.
      s.push({ message, priority, redelivered: false }, opts.reclaimed);
      return true;
    },
    async publishDelayed(message, priority, delayMs) {
      const t = setTimeout(() => {
        s.timers.delete(t);
        s.push({ message, priority, redelivered: false });
      }, delayMs);
      t.unref();
      s.timers.add(t);
    },
    async pruneDeadLetters(failedBefore) {
      const keep = s.dead.filter((d) => Date.parse(d.letter.failedAt) >= failedBefore.getTime());
      const dropped = s.dead.length - keep.length;
      s.dead.splice(0, s.dead.length, ...keep);
      return dropped;
    },

    async deadLetter(letter, priority) {
      s.dead.push({ letter, priority });
    },
    async takeDeadLetter(taskId) {
      const i = s.dead.findIndex((d) => d.letter.taskId === taskId);
      return i < 0 ? undefined : s.dead.splice(i, 1)[0].letter;
    },
    async consume(prefetch, handler) {
      mine = { prefetch, unsettled: 0, handler, active: true };
      s.consumers.push(mine);
      s.dispatch();
    },
    async stopConsuming() {
      if (mine) mine.active = false;
    },
    async broadcastCancel(taskId) {
      s.control.emit("cancel", taskId);
    },
    async onCancel(handler) {
      cancelHandlers.push(handler);
      s.control.on("cancel", handler);
    },
    async stats(): Promise<QueueStats> {
      const workers = s.consumers.filter((c) => c.active).length;
      return {
        queues: [
          { name: `${prefix}.tasks.ready`, messages: s.depth(), consumers: workers },
          { name: `${prefix}.tasks.wait`, messages: s.timers.size, consumers: 0 },
          { name: `${prefix}.tasks.dead`, messages: s.dead.length, consumers: 0 },
        ],
        deadLetters: s.dead.length,
        workers,
      };
    },
    async close() {
      if (mine) {
        mine.active = false;
        s.consumers.splice(s.consumers.indexOf(mine), 1);
      }
      for (const h of cancelHandlers) s.control.off("cancel", h);
      if (s.consumers.length === 0) {
        for (const t of s.timers) clearTimeout(t);
        s.timers.clear();
      }
    },
  };
}

import type { CallContext } from "@sker/kit";

type Handler = (req: any, ctx: CallContext) => Promise<any>;

/**
 * A bulkhead on the database pool between the task pipeline and everyone else. When the queue
 * comes back after an outage (or a burst lands), every worker of every broker asks StartTask at
 * once; starts of one project wait for each other in the database (the running caps' advisory
 * locks, the project's event counter), each holding a pooled connection while it waits. A pool
 * full of them made users' writes time out waiting for a connection (503s in the RabbitMQ
 * drills). So at most `limit` of the pipeline's heavy calls run at once, the rest wait here,
 * holding nothing; a waiter whose caller has gone leaves the line with the call's own error.
 */
export class Gate {
  private active = 0;
  private readonly line: { go: () => void }[] = [];

  constructor(readonly limit: number) {}

  async run<T>(signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
    if (this.active < this.limit) this.active++;
    else await this.wait(signal);
    try {
      return await fn();
    } finally {
      // The slot passes straight to the next in line, so no newcomer can slip past the limit.
      const next = this.line.shift();
      if (next) next.go();
      else this.active--;
    }
  }

  private wait(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    return new Promise<void>((resolve, reject) => {
      const leave = () => {
        const i = this.line.indexOf(entry);
        if (i >= 0) this.line.splice(i, 1);
        reject(signal.reason);
      };
      const entry = {
        go: () => {
          signal.removeEventListener("abort", leave);
          resolve();
        },
      };
      this.line.push(entry);
      signal.addEventListener("abort", leave, { once: true });
    });
  }

  get waiting(): number {
    return this.line.length;
  }
}

/** The same service with the named handlers run through the gate. */
export function gated<S extends Record<string, Handler>>(service: S, names: (keyof S)[], gate: Gate): S {
  const out: Record<string, Handler> = { ...service };
  for (const name of names) {
    const handler = service[name];
    out[name as string] = (req, ctx) => gate.run(ctx.signal, () => handler(req, ctx));
  }
  return out as S;
}

/**
 * Submissions in a burst wait here, in arrival order, rather than all at once in the store's
 * connection pool, where they would crowd out the starts and completions of running tasks and
 * time out (a 503 for a task that would have run). `limit` CreateTask calls run at a time; a
 * waiter whose caller has gone (its signal aborted: a cancel or a passed deadline) leaves the
 * line without a turn.
 */
export function admissionGate(limit: number) {
  let running = 0;
  const waiting: (() => void)[] = [];
  const release = () => {
    running--;
    const next = waiting.shift();
    if (next) {
      running++;
      next();
    }
  };
  const turn = (signal?: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      const gone = () => {
        const i = waiting.indexOf(go);
        if (i >= 0) waiting.splice(i, 1);
        reject(signal!.reason);
      };
      const go = () => {
        signal?.removeEventListener("abort", gone);
        resolve();
      };
      waiting.push(go);
      signal?.addEventListener("abort", gone, { once: true });
    });
  return {
    async run<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
      signal?.throwIfAborted();
      if (running < limit) running++;
      else await turn(signal);
      try {
        return await work();
      } finally {
        release();
      }
    },
    /** Submissions waiting for a turn (a metric). */
    get queued() {
      return waiting.length;
    },
  };
}

export type AdmissionGate = ReturnType<typeof admissionGate>;

/**
 * Submissions in a burst wait here, in arrival order, rather than all at once in the store's
 * connection pool, where they would crowd out the starts and completions of running tasks and
 * time out (a 503 for a task that would have run). `limit` CreateTask calls run at a time.
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
  return {
    async run<T>(work: () => Promise<T>): Promise<T> {
      if (running < limit) running++;
      else await new Promise<void>((r) => waiting.push(r));
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

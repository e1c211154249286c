import type { EventBus } from "@sker/kit";

// Streamed output → ephemeral task.progress events, batched so a fast provider does not send
// one bus message per token: at most one event per `intervalMs` unless `maxChars` have gathered.
// The first piece (and any after a quiet spell) goes out at once: a trailing-only batch held
// every task's first token back by a whole interval.
// Events go out in order; a lost one is only a gap in a preview (the result is persisted).

export interface ProgressSink {
  push(text: string): void;
  /** Flushes what is left and waits for the publishes. */
  close(): Promise<void>;
}

export function progressBatcher(bus: EventBus, projectId: string, taskId: string, opts = { intervalMs: 50, maxChars: 64 }): ProgressSink {
  let buffer = "";
  let index = 0;
  let timer: NodeJS.Timeout | undefined;
  let chain: Promise<void> = Promise.resolve();
  // After one failed publish (RabbitMQ away) the rest of this attempt's preview is dropped:
  // waiting out a timeout per event would hold the result back for nothing.
  let broken = false;
  let lastFlush = -Infinity;

  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (!buffer) return;
    lastFlush = performance.now();
    const delta = buffer;
    buffer = "";
    const event = { projectId, seq: null, name: "task.progress", data: { taskId, index: index++, delta }, at: new Date().toISOString() };
    chain = chain
      .then(() => (broken ? undefined : bus.publish(event)))
      .catch(() => {
        broken = true;
      });
  };

  return {
    push(text) {
      buffer += text;
      if (timer) {
        if (buffer.length >= opts.maxChars) flush();
        return;
      }
      const wait = lastFlush + opts.intervalMs - performance.now();
      if (wait <= 0 || buffer.length >= opts.maxChars) flush();
      else timer = setTimeout(flush, wait);
    },
    async close() {
      flush();
      // Bounded: the result must not wait on the preview. When the bound wins, what is still
      // queued is dropped, so no task.progress can follow the task.completed event.
      const drained = await Promise.race([chain.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 1_000).unref())]);
      if (!drained) broken = true;
    },
  };
}

import type { EventBus } from "@sker/kit";

// Streamed output → ephemeral task.progress events, batched so a fast provider does not send
// one bus message per token: at most one event per interval unless `maxChars` have gathered.
// The first piece (and any after a quiet spell) goes out at once: a trailing-only batch held
// every task's first token back by a whole interval.
// Events go out in order; a lost one is only a gap in a preview (the result is persisted).
//
// The interval grows with how many attempts stream at once in this process (`streams`): each
// event costs the broker, RabbitMQ and every gateway with a viewer about the same whatever it
// carries, so 150 tasks streaming a token every 50-80 ms would be 2,000-3,000 events a second
// for text a viewer reads no faster at 4 updates a second. Up to `streamsAtMin` streams it is
// `minMs`; beyond, the process sends about streamsAtMin × 1000/minMs events a second in all (400),
// each stream still at least one every `maxMs`.

export interface ProgressSink {
  push(text: string): void;
  /** Flushes what is left and waits for the publishes. */
  close(): Promise<void>;
}

export interface ProgressPacing {
  minMs: number;
  maxMs: number;
  /** How many streams go at minMs before the interval grows. */
  streamsAtMin: number;
  /** An event is sent before its interval is up once this much text has gathered. */
  maxChars: number;
  /** Attempts streaming in this process now. */
  streams: () => number;
}

export const DEFAULT_PACING: ProgressPacing = { minMs: 50, maxMs: 250, streamsAtMin: 20, maxChars: 512, streams: () => 1 };

/** The interval between one stream's events with `streams` streaming. */
export function progressInterval(p: Pick<ProgressPacing, "minMs" | "maxMs" | "streamsAtMin">, streams: number): number {
  return Math.min(p.maxMs, Math.max(p.minMs, (p.minMs * streams) / p.streamsAtMin));
}

export function progressBatcher(bus: EventBus, projectId: string, taskId: string, pacing: Partial<ProgressPacing> = {}): ProgressSink {
  const opts = { ...DEFAULT_PACING, ...pacing };
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
      const wait = lastFlush + progressInterval(opts, opts.streams()) - performance.now();
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

/**
 * Every exchange and queue the broker declares, prefixed (SKER_QUEUE_PREFIX) so tests and
 * deployments can share one RabbitMQ. The task queue and its delay queues are named apart from
 * the first release's (`<prefix>.tasks`, key `task`, `.retry.`): RabbitMQ cannot change the
 * x-max-priority of an existing queue, and reclaimed tasks need a step between priorities.
 * Messages left in the old queues are never consumed; their tasks are queued in the store and
 * the reaper publishes them again.
 */
export function queueNames(prefix: string, retryBaseMs: number, retryMaxMs: number) {
  const delays: number[] = [];
  for (let ms = retryBaseMs; ; ms *= 2) {
    delays.push(Math.min(ms, retryMaxMs));
    if (ms >= retryMaxMs) break;
  }
  return {
    taskExchange: `${prefix}.tasks`,
    taskQueue: `${prefix}.tasks.ready`,
    routingKey: "ready",
    deadLetterQueue: `${prefix}.tasks.dead`,
    controlExchange: `${prefix}.control`,
    /** One delay queue per retry step, each holding messages up to its TTL. */
    delayQueues: delays.map((ttl) => ({ name: `${prefix}.tasks.wait.${ttl}ms`, ttl })),
  };
}

export type QueueNames = ReturnType<typeof queueNames>;

/** The shortest delay queue whose TTL covers the wanted delay (the last one caps it). */
export function delayQueueFor(names: QueueNames, delayMs: number): { name: string; ttl: number } {
  return names.delayQueues.find((q) => q.ttl >= delayMs) ?? names.delayQueues[names.delayQueues.length - 1];
}

// The task queue, as the broker uses it: publish (confirmed), consume with a bounded number of
// unsettled deliveries, delay a retry, dead-letter, and a fanout of cancels to every broker.
// Two implementations: RabbitMQ (rabbit.ts) and in-process for all-in-one mode (memory.ts).

export interface TaskMessage {
  taskId: string;
  projectId: string;
  /** W3C trace context of the submit (traceparent, tracestate): AMQP headers on RabbitMQ. */
  trace?: Record<string, string>;
}

export interface DeadLetter extends TaskMessage {
  error: { code: string; message: string };
  attempts: number;
  /** ISO 8601 */
  failedAt: string;
}

/** A task's priority: low 1, normal 2, high 3, urgent 4. */
export type Priority = 1 | 2 | 3 | 4;
export const MAX_PRIORITY = 4;
/**
 * On RabbitMQ each priority takes two levels (x-max-priority 8): 2p-1, and 2p for a reclaimed
 * task, which so runs before newer tasks of its own priority and never before a higher one.
 */
export const AMQP_MAX_PRIORITY = 2 * MAX_PRIORITY;
export const amqpPriority = (p: Priority, reclaimed = false) => 2 * p - (reclaimed ? 0 : 1);

/** What the consumer decided: done with the message, or hand it back for another delivery. */
export type Settle = "ack" | "requeue";

export interface Delivery {
  message: TaskMessage;
  priority: Priority;
  redelivered: boolean;
}

export interface QueueStats {
  queues: { name: string; messages: number; consumers: number }[];
  deadLetters: number;
  workers: number;
}

export interface TaskQueue {
  /**
   * Resolves once the queue has the message safely (RabbitMQ: publisher confirm). With
   * `waitMs`, resolves false after that long instead: the message stays in line to be
   * published when RabbitMQ is back (and the reaper covers it should this process die).
   */
  publish(message: TaskMessage, priority: Priority, opts?: { waitMs?: number; reclaimed?: boolean }): Promise<boolean>;
  /** Publishes the message to come back to the task queue after about `delayMs`. */
  publishDelayed(message: TaskMessage, priority: Priority, delayMs: number): Promise<void>;
  deadLetter(letter: DeadLetter, priority: Priority): Promise<void>;
  /** Removes a task's dead letter and answers it; undefined when there is none. */
  takeDeadLetter(taskId: string): Promise<DeadLetter | undefined>;
  /** Drops the dead letters that failed before `failedBefore` (retention); answers how many. */
  pruneDeadLetters(failedBefore: Date): Promise<number>;
  /** At most `prefetch` deliveries are unsettled at once; each is settled by what `handler` answers. */
  consume(prefetch: number, handler: (delivery: Delivery) => Promise<Settle>): Promise<void>;
  /** No new deliveries (shutdown drain); those in flight still settle. */
  stopConsuming(): Promise<void>;
  broadcastCancel(taskId: string): Promise<void>;
  onCancel(handler: (taskId: string) => void): Promise<void>;
  stats(): Promise<QueueStats>;
  close(): Promise<void>;
}

/** The task priority of an AMQP priority level (see amqpPriority). */
export function priorityOf(value: number | undefined): Priority {
  const p = Math.ceil(Number(value) / 2);
  return (p >= 1 && p <= MAX_PRIORITY ? p : 2) as Priority;
}

const RANK = { low: 1, normal: 2, high: 3, urgent: 4 } as const;

/** The store's TaskPriority ("TASK_PRIORITY_URGENT") → the AMQP priority. */
export function priorityOfTask(priority: string | undefined): Priority {
  const name = (priority ?? "").replace(/^TASK_PRIORITY_/, "").toLowerCase() as keyof typeof RANK;
  return RANK[name] ?? 2;
}

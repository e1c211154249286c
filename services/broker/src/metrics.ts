import { Counter, Gauge, Histogram } from "prom-client";
import { createMetrics } from "@sker/kit";
import type { TaskQueue } from "./queue/index.js";

/** The broker's Prometheus metrics on top of the kit's RPC ones (docs/operations.md#monitoring). */
export function brokerMetrics(queue: () => TaskQueue | undefined) {
  const base = createMetrics("broker");
  const registers = [base.registry];
  const seconds = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
  return {
    ...base,
    tasks: new Counter({ name: "broker_tasks_total", help: "Task attempts by type and how they ended", labelNames: ["type", "status"], registers }),
    taskDuration: new Histogram({ name: "broker_task_duration_seconds", help: "Time of one attempt, start to end", labelNames: ["type", "status"], buckets: seconds, registers }),
    retries: new Counter({ name: "broker_task_retries_total", help: "Attempts sent back through a delay queue", labelNames: ["type", "code"], registers }),
    deadLetters: new Counter({ name: "broker_dead_letters_total", help: "Tasks failed for good and dead-lettered", labelNames: ["type", "code"], registers }),
    providerLatency: new Histogram({ name: "broker_provider_seconds", help: "Provider call time, to the first token and to the end", labelNames: ["provider", "phase"], buckets: seconds, registers }),
    providerFailures: new Counter({ name: "broker_provider_failures_total", help: "Attempts that ended in an error (provider, timeout or refused output), by provider", labelNames: ["provider"], registers }),
    tokens: new Counter({ name: "broker_tokens_total", help: "Tokens used, by provider and direction", labelNames: ["provider", "direction"], registers }),
    modelTokens: new Counter({ name: "broker_model_tokens_total", help: "Tokens spent per model alias and provider (every attempt, failed ones too)", labelNames: ["provider", "model", "direction"], registers }),
    modelCost: new Counter({ name: "broker_model_cost_usd_total", help: "Cost in USD at the models file's prices, per model alias and provider", labelNames: ["provider", "model"], registers }),
    modelCalls: new Counter({ name: "broker_model_calls_total", help: "Provider calls per model alias and how they ended (ok or an error code)", labelNames: ["provider", "model", "outcome"], registers }),
    fallbacks: new Counter({ name: "broker_model_fallbacks_total", help: "Moves from one model to the next in its fallback list", labelNames: ["from", "to", "reason"], registers }),
    circuit: new Gauge({ name: "broker_circuit_state", help: "Circuit breaker per provider: 0 closed, 1 open, 2 half-open", labelNames: ["provider"], registers }),
    inflight: new Gauge({ name: "broker_tasks_in_flight", help: "Tasks this process is working on", registers }),
    queueDepth: new Gauge({
      name: "broker_queue_messages",
      help: "Messages waiting per queue (task, delay, dead letter)",
      labelNames: ["queue"],
      registers,
      async collect() {
        const q = queue();
        if (!q) return;
        try {
          const stats = await q.stats();
          for (const s of stats.queues) this.set({ queue: s.name }, s.messages);
        } catch {
          // RabbitMQ unreachable: leave the last values rather than fail the scrape.
        }
      },
    }),
  };
}

export type BrokerMetrics = ReturnType<typeof brokerMetrics>;

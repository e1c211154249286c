import type { Logger } from "../logger.js";
import type { EventBus } from "../bus.js";
import { MemoryEventBus } from "./memory.js";
import { RabbitEventBus } from "./rabbitmq.js";

export { MemoryEventBus, RabbitEventBus };

/** RabbitMQ when a url is given, else the in-process bus (all-in-one mode). */
export function createEventBus(opts: { url?: string; exchange: string; log: Logger; publishWaitMs?: number }): EventBus {
  return opts.url ? new RabbitEventBus({ url: opts.url, exchange: opts.exchange, log: opts.log, publishWaitMs: opts.publishWaitMs }) : new MemoryEventBus(opts.exchange);
}

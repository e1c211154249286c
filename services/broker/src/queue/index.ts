import type { Logger } from "@sker/kit";
import type { BrokerConfig } from "../config.js";
import { memoryTaskQueue } from "./memory.js";
import { rabbitTaskQueue } from "./rabbit.js";
import type { TaskQueue } from "./types.js";

export * from "./types.js";

export function createTaskQueue(config: BrokerConfig, log: Logger): TaskQueue {
  if (!config.rabbitmqUrl) return memoryTaskQueue(config.queuePrefix);
  return rabbitTaskQueue({ url: config.rabbitmqUrl, prefix: config.queuePrefix, retryBaseMs: config.retryBaseMs, retryMaxMs: config.retryMaxMs, log });
}

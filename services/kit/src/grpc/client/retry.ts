import { status as GrpcStatus, type ServiceError } from "@grpc/grpc-js";
import type { Metrics } from "../../metrics.js";
import type { ClientInterceptor } from "./call.js";

const READ = /^(get|list)/i;

/**
 * Reads (Get*, List*) are retried on UNAVAILABLE with exponential backoff and jitter; nothing
 * else is, since a write may have landed. Not after the caller gave up, nor past the deadline.
 */
export const retry =
  (retries: number, metrics?: Metrics): ClientInterceptor =>
  (next) =>
  async (call) => {
    const attempts = READ.test(call.name) ? retries + 1 : 1;
    for (let attempt = 1; ; attempt++) {
      try {
        return await next({ ...call, metadata: call.metadata.clone() });
      } catch (err) {
        const wait = 50 * 2 ** attempt * (0.5 + Math.random());
        const retriable = (err as ServiceError)?.code === GrpcStatus.UNAVAILABLE && !call.options.signal?.aborted;
        if (attempt >= attempts || !retriable || (call.deadline !== undefined && Date.now() + wait >= call.deadline)) throw err;
        metrics?.clientRetries.inc({ method: call.method });
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  };

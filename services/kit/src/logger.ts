import { trace } from "@opentelemetry/api";
import { pino, type Logger } from "pino";

export type { Logger };

/** JSON lines; every line made inside a traced span carries its trace id. */
export function createLogger(service: string, level = process.env.LOG_LEVEL ?? "info"): Logger {
  return pino({
    level,
    base: { service },
    mixin() {
      const span = trace.getActiveSpan();
      return span ? { traceId: span.spanContext().traceId } : {};
    },
  });
}

import { context as otelContext, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { toServiceError } from "../../errors.js";
import { extractTrace } from "../../telemetry.js";
import { tracingOn } from "../../telemetry-sdk.js";
import type { ServerInterceptor } from "./call.js";

const tracer = trace.getTracer("sker-grpc-server");

/** A server span, child of the caller's (trace context from the metadata). Nothing while tracing is off. */
export const tracing = (): ServerInterceptor => (next) => (call) => {
  if (!tracingOn()) return next(call);
  return otelContext.with(extractTrace(call.metadata), () =>
    tracer.startActiveSpan(call.method, { kind: SpanKind.SERVER, attributes: { "rpc.system": "grpc", "rpc.method": call.method } }, async (span) => {
      try {
        return await next(call);
      } catch (err) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: toServiceError(err).details });
        throw err;
      } finally {
        span.end();
      }
    }),
  );
};

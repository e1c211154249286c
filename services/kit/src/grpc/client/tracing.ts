import { SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { ServiceError } from "@grpc/grpc-js";
import { injectTrace } from "../../telemetry.js";
import { tracingOn } from "../../telemetry-sdk.js";
import type { ClientInterceptor } from "./call.js";

const tracer = trace.getTracer("sker-grpc-client");

/** A client span per attempt, its context sent along so the server's span is its child. Nothing while tracing is off. */
export const tracing = (): ClientInterceptor => (next) => (call) => {
  if (!tracingOn()) return next(call);
  return tracer.startActiveSpan(call.method, { kind: SpanKind.CLIENT, attributes: { "rpc.system": "grpc", "rpc.method": call.method } }, async (span) => {
    try {
      injectTrace(call.metadata);
      return await next(call);
    } catch (err) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Partial<ServiceError>)?.details ?? (err as Error)?.message });
      throw err;
    } finally {
      span.end();
    }
  });
};

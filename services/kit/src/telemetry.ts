import { context, propagation, type Context } from "@opentelemetry/api";
import type { Metadata } from "@grpc/grpc-js";

// W3C trace context carried in gRPC metadata (and AMQP headers via the same carrier shape).
// Without an SDK registered these are no-ops, so they are always safe to call.

export function injectTrace(md: Metadata, ctx: Context = context.active()): void {
  propagation.inject(ctx, md, { set: (carrier, key, value) => carrier.set(key, value) });
}

export function extractTrace(md: Metadata): Context {
  return propagation.extract(context.active(), md, {
    get: (carrier, key) => {
      const v = carrier.get(key)[0];
      return typeof v === "string" ? v : undefined;
    },
    keys: (carrier) => Object.keys(carrier.getMap()),
  });
}

/** The active trace context as a small string map (traceparent, tracestate) to send along. */
export function traceCarrier(ctx: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier;
}

export function extractHeaders(headers: Record<string, unknown> | undefined): Context {
  return propagation.extract(context.active(), headers ?? {});
}

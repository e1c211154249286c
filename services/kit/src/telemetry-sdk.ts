import type { tracing } from "@opentelemetry/sdk-node";

// The OpenTelemetry SDK behind the API calls in grpc/handler.ts and grpc/client.ts, when spans
// have somewhere to go: a tracer provider, the W3C trace-context propagator (so trace ids cross
// gRPC metadata and AMQP headers) and, when an endpoint is set, an OTLP/HTTP exporter. No auto-instrumentation: under
// ESM it needs `node --import` hooks (docs/toolchain.md), and our spans come from the kit itself.

export interface TelemetryOptions {
  /** OTEL_EXPORTER_OTLP_ENDPOINT: the collector's base URL; spans go to <endpoint>/v1/traces. */
  otlpEndpoint?: string;
  /** Tests: receive every span here (an InMemorySpanExporter), exported synchronously. */
  exporter?: tracing.SpanExporter;
}

export interface Telemetry {
  /** Flushes pending spans and unregisters the SDK. Once per process: the kit's tracers keep their provider. */
  shutdown(): Promise<void>;
}

let running: { telemetry: Telemetry; serviceName: string } | undefined;

/** Nothing to flush: the SDK was never loaded. */
const off: Telemetry = { shutdown: async () => undefined };

/**
 * Whether spans are recorded in this process. The kit's gRPC interceptors and the gateway's
 * HTTP hooks do nothing while it is false, so tracing that is off costs a boolean read.
 */
export function tracingOn(): boolean {
  return running !== undefined;
}

/**
 * Registers the SDK for this process when there is somewhere to send spans (an endpoint or an
 * exporter). One per process: the all-in-one launcher runs three services in one process, and
 * a second call returns the first registration.
 *
 * Without either, nothing is loaded or registered: the OpenTelemetry API stays a no-op (no
 * context manager, so no async hooks; no propagator, so no trace context on the wire) and
 * logs carry the request id, which every hop forwards, but no trace id. Registering the SDK
 * only to make ids cost ~25 MiB of RSS per process and async-context tracking on every
 * promise (measured in issue 15; see the README's design notes).
 */
export async function startTelemetry(serviceName: string, opts: TelemetryOptions = {}): Promise<Telemetry> {
  if (running) return running.telemetry;
  if (!opts.exporter && !opts.otlpEndpoint) return off;
  // Loaded on demand: the SDK takes ~300 ms and ~25 MiB to import, which a process that
  // records nothing should not pay.
  const [{ NodeSDK, tracing, core }, { OTLPTraceExporter }, api] = await Promise.all([
    import("@opentelemetry/sdk-node"),
    import("@opentelemetry/exporter-trace-otlp-proto"),
    import("@opentelemetry/api"),
  ]);
  const processors: tracing.SpanProcessor[] = [];
  if (opts.exporter) processors.push(new tracing.SimpleSpanProcessor(opts.exporter));
  if (opts.otlpEndpoint) {
    const url = `${opts.otlpEndpoint.replace(/\/+$/, "")}/v1/traces`;
    processors.push(new tracing.BatchSpanProcessor(new OTLPTraceExporter({ url })));
  }
  const sdk = new NodeSDK({
    serviceName,
    // The sampler comes from OTEL_TRACES_SAMPLER (default parent-based always-on).
    spanProcessors: processors,
    textMapPropagator: new core.CompositePropagator({
      propagators: [new core.W3CTraceContextPropagator(), new core.W3CBaggagePropagator()],
    }),
    instrumentations: [],
    // Explicitly none: left unset, the SDK would export metrics and logs over OTLP to
    // localhost:4318. Metrics are Prometheus (metrics.ts) and logs are pino's JSON lines.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  const telemetry: Telemetry = {
    async shutdown() {
      if (running?.telemetry !== telemetry) return;
      running = undefined;
      try {
        await sdk.shutdown();
      } finally {
        api.trace.disable();
        api.propagation.disable();
        api.context.disable();
      }
    },
  };
  running = { telemetry, serviceName };
  return telemetry;
}

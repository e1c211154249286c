import type { tracing } from "@opentelemetry/sdk-node";

// The OpenTelemetry SDK behind the API calls in grpc/handler.ts and grpc/client.ts: a tracer
// provider, the W3C trace-context propagator (so trace ids cross gRPC metadata and AMQP
// headers) and, when an endpoint is set, an OTLP/HTTP exporter. No auto-instrumentation: under
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

/**
 * Registers the SDK for this process. One per process: the all-in-one launcher runs three
 * services in one process, and a second call returns the first registration.
 *
 * Without an endpoint or exporter, spans are not recorded, but they still get trace ids, so logs
 * carry a traceId and context still propagates to the next service; that costs next to nothing.
 */
export async function startTelemetry(serviceName: string, opts: TelemetryOptions = {}): Promise<Telemetry> {
  if (running) return running.telemetry;
  // Loaded on demand: the SDK takes ~300 ms to import, which tests and tools that never
  // call this should not pay.
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
  const recording = processors.length > 0;
  const sdk = new NodeSDK({
    serviceName,
    // The SDK registers a tracer provider only when it has a processor.
    spanProcessors: recording ? processors : [new tracing.NoopSpanProcessor()],
    // Without somewhere to send spans, do not record them; ids are still made and propagated.
    // With one, the sampler comes from OTEL_TRACES_SAMPLER (default parent-based always-on).
    ...(recording ? {} : { sampler: new tracing.AlwaysOffSampler() }),
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

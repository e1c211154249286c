import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SpanKind, trace } from "@opentelemetry/api";
import { tracing } from "@opentelemetry/sdk-node";
import { startTelemetry, type Telemetry } from "@sker/kit";
import { createServer, type IncomingMessage } from "node:http";
import { startEventServer, userToken } from "./support/grpc.js";

// With the SDK started, a call's client span and the handler's server span share one trace,
// the server span is the client span's child, and spans reach an OTLP collector.

const exporter = new tracing.InMemorySpanExporter();
const received: { path?: string; type?: string; bytes: number }[] = [];
const collector = createServer((req: IncomingMessage, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    received.push({ path: req.url, type: req.headers["content-type"], bytes: Buffer.concat(chunks).length });
    res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
  });
});

let telemetry: Telemetry;
let server: Awaited<ReturnType<typeof startEventServer>>;
let handlerTraceId: string | undefined;

beforeAll(async () => {
  await new Promise<void>((r) => collector.listen(0, "127.0.0.1", () => r()));
  const { port } = collector.address() as { port: number };
  telemetry = await startTelemetry("kit-test", { exporter, otlpEndpoint: `http://127.0.0.1:${port}/` });
  server = await startEventServer({
    listEvents: async () => {
      handlerTraceId = trace.getActiveSpan()?.spanContext().traceId;
      return { events: [], latestSeq: 0, prunedSeq: 0 };
    },
  });
});
afterAll(async () => {
  await server?.close();
  await telemetry?.shutdown();
  await new Promise((r) => collector.close(r));
});

describe("tracing across a gRPC call", () => {
  it("returns the same registration when started twice in one process", async () => {
    expect(await startTelemetry("other")).toBe(telemetry);
  });

  it("links the server span to the client span in one trace", async () => {
    const token = await userToken(server.kit);
    const parentTraceId = await trace.getTracer("test").startActiveSpan("request", async (span) => {
      await server.client.listEvents({ projectId: "p", afterSeq: 0, limit: 1 }, { token });
      span.end();
      return span.spanContext().traceId;
    });
    // Export waits for the resource's async attributes (host detection): poll, do not race it.
    await expect.poll(() => exporter.getFinishedSpans().length).toBeGreaterThanOrEqual(3);
    const spans = exporter.getFinishedSpans();
    const client = spans.find((s) => s.kind === SpanKind.CLIENT && s.name === "/sker.store.v1.EventService/ListEvents");
    const srv = spans.find((s) => s.kind === SpanKind.SERVER && s.name === "/sker.store.v1.EventService/ListEvents");
    expect(client, "client span").toBeDefined();
    expect(srv, "server span").toBeDefined();
    expect(client!.spanContext().traceId).toBe(parentTraceId);
    expect(srv!.spanContext().traceId).toBe(parentTraceId);
    expect(srv!.parentSpanContext?.spanId).toBe(client!.spanContext().spanId);
    expect(handlerTraceId).toBe(parentTraceId);
    expect(srv!.attributes["rpc.method"]).toBe("/sker.store.v1.EventService/ListEvents");
    expect(srv!.resource.attributes["service.name"]).toBe("kit-test");
  });

  it("marks the spans of a failed call as errors", async () => {
    exporter.reset();
    const err = await server.client.listEvents({ projectId: "p", afterSeq: 0, limit: 1 }, { token: "bad" }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    await expect.poll(() => exporter.getFinishedSpans().length).toBe(2);
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.status.code)).toEqual([2, 2]); // SpanStatusCode.ERROR, server then client
  });

  it("exports spans over OTLP/HTTP to <endpoint>/v1/traces", async () => {
    await telemetry.shutdown(); // flushes the batch processor
    expect(received.length).toBeGreaterThan(0);
    expect(received[0]).toMatchObject({ path: "/v1/traces", type: "application/x-protobuf" });
    expect(received[0].bytes).toBeGreaterThan(100);
  });
});

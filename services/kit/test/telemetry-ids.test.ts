import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { trace } from "@opentelemetry/api";
import { createLogger, startTelemetry, type Telemetry } from "@sker/kit";
import { Writable } from "node:stream";
import { startEventServer, testKit, userToken } from "./support/grpc.js";

// Without an OTLP endpoint spans are not recorded, yet every call still gets a trace id that
// crosses the wire, so the logs of gateway, broker and store can be joined on it.

let telemetry: Telemetry;
let server: Awaited<ReturnType<typeof startEventServer>>;
const handler: { traceId?: string; recording?: boolean } = {};
const lines: Record<string, unknown>[] = [];
const sink = new Writable({
  write(chunk: Buffer, _enc, done) {
    for (const line of chunk.toString().split("\n").filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
    done();
  },
});

beforeAll(async () => {
  telemetry = await startTelemetry("kit-test", {});
  const kit = { ...testKit(), log: createLogger("kit-test", "info", sink) };
  server = await startEventServer({
    listEvents: async (_req, ctx) => {
      ctx.log.info("handling");
      const span = trace.getActiveSpan();
      handler.traceId = span?.spanContext().traceId;
      handler.recording = span?.isRecording();
      return { events: [], latestSeq: 0, prunedSeq: 0 };
    },
  }, { kit });
});
afterAll(async () => {
  await server?.close();
  await telemetry?.shutdown();
});

describe("trace ids without an exporter", () => {
  it("propagates the caller's trace id to the handler without recording spans", async () => {
    const token = await userToken(server.kit);
    const callerTraceId = await trace.getTracer("test").startActiveSpan("request", async (span) => {
      await server.client.listEvents({ projectId: "p", afterSeq: 0, limit: 1 }, { token });
      span.end();
      expect(span.isRecording()).toBe(false);
      return span.spanContext().traceId;
    });
    expect(callerTraceId).toMatch(/^[0-9a-f]{32}$/);
    expect(callerTraceId).not.toBe("0".repeat(32));
    expect(handler.traceId).toBe(callerTraceId);
    expect(handler.recording).toBe(false);
  });

  it("puts the trace id and request id on the handler's log lines", async () => {
    const token = await userToken(server.kit);
    lines.length = 0;
    const callerTraceId = await trace.getTracer("test").startActiveSpan("request", async (span) => {
      await server.client.listEvents({ projectId: "p", afterSeq: 0, limit: 1 }, { token, requestId: "req-log-1" });
      span.end();
      return span.spanContext().traceId;
    });
    expect(lines.find((l) => l.msg === "handling")).toMatchObject({
      service: "kit-test",
      requestId: "req-log-1",
      method: "/sker.store.v1.EventService/ListEvents",
      traceId: callerTraceId,
    });
  });

  it("starts a fresh trace per call when the caller has none", async () => {
    const token = await userToken(server.kit);
    await server.client.listEvents({ projectId: "p", afterSeq: 0, limit: 1 }, { token });
    const first = handler.traceId;
    await server.client.listEvents({ projectId: "p", afterSeq: 0, limit: 1 }, { token });
    expect(first).toMatch(/^[0-9a-f]{32}$/);
    expect(handler.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(handler.traceId).not.toBe(first);
  });
});

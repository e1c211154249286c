import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { Writable } from "node:stream";
import { trace } from "@opentelemetry/api";
import { createLogger, startTelemetry, tracingOn, type Telemetry } from "@sker/kit";
import { startEventServer, testKit, userToken } from "./support/grpc.js";

// Without an OTLP endpoint (or a test exporter) tracing costs nothing: the SDK is not loaded, no
// span is made on either side of a call, and logs are joined on the request id every hop
// forwards instead of a trace id.

let telemetry: Telemetry;
let server: Awaited<ReturnType<typeof startEventServer>>;
const handler: { active?: boolean } = {};
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
      handler.active = trace.getActiveSpan() !== undefined;
      return { events: [], latestSeq: 0, prunedSeq: 0 };
    },
  }, { kit });
});
afterAll(async () => {
  await server?.close();
  await telemetry?.shutdown();
});

/** Which OpenTelemetry SDK packages a fresh process has loaded after startTelemetry(opts). */
const sdkLoadedWith = (opts: string) =>
  execFileSync(process.execPath, ["--input-type=module", "-e", `
    import { createRequire } from "node:module";
    import { startTelemetry } from "@sker/kit";
    const t = await startTelemetry("probe", ${opts});
    const loaded = Object.keys(createRequire(import.meta.url).cache).filter((f) => /@opentelemetry[\\\\/]sdk-/.test(f));
    await t.shutdown();
    console.log(loaded.length);
  `], { cwd: import.meta.dirname, encoding: "utf8" }).trim();

describe("tracing off (no exporter)", () => {
  it("loads no SDK; with an endpoint it does", () => {
    expect(tracingOn()).toBe(false);
    expect(sdkLoadedWith("{}")).toBe("0");
    expect(Number(sdkLoadedWith(`{ otlpEndpoint: "http://127.0.0.1:9" }`))).toBeGreaterThan(0);
  });

  it("makes no span around a call, even inside a caller's span", async () => {
    const token = await userToken(server.kit);
    await trace.getTracer("test").startActiveSpan("request", async (span) => {
      await server.client.listEvents({ projectId: "p", afterSeq: 0, limit: 1 }, { token });
      expect(span.isRecording()).toBe(false);
      span.end();
    });
    expect(handler.active).toBe(false);
  });

  it("puts the request id on the handler's log lines, and no trace id", async () => {
    const token = await userToken(server.kit);
    lines.length = 0;
    await server.client.listEvents({ projectId: "p", afterSeq: 0, limit: 1 }, { token, requestId: "req-log-1" });
    const line = lines.find((l) => l.msg === "handling");
    expect(line).toMatchObject({ service: "kit-test", requestId: "req-log-1", method: "/sker.store.v1.EventService/ListEvents" });
    expect(line).not.toHaveProperty("traceId");
  });
});

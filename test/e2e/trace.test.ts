// One trace per request: a REST call that submits an AI task is one OpenTelemetry trace from
// the gateway through the broker and the store to the worker's run and its store calls
// (context in gRPC metadata and in the task message's AMQP headers).
import { tracing } from "@opentelemetry/sdk-node";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTelemetry, type Telemetry } from "@sker/kit";
import { client, register } from "@sker/testkit/http";
import { startStack, type Stack } from "@sker/testkit/stack";

const exporter = new tracing.InMemorySpanExporter();
let telemetry: Telemetry;
let stack: Stack;

beforeAll(async () => {
  telemetry = await startTelemetry("sker-trace-test", { exporter });
  stack = await startStack();
}, 60_000);

afterAll(async () => {
  await stack?.close();
  await telemetry?.shutdown();
}, 60_000);

it("POST /api/v1/ai-tasks is one trace: gateway → broker → store → worker run → store", async () => {
  const req = client(stack.url);
  const user = await register(req, "trace");
  const project = (await req("POST", "/api/v1/projects", { token: user.accessToken, body: { name: "Traced" } })).body.data.id;
  const node = (await req("POST", "/api/v1/nodes", { token: user.accessToken, body: { projectId: project, title: "Traced node", content: "follow me" } })).body.data.id;
  exporter.reset();

  const submitted = await req("POST", "/api/v1/ai-tasks", { token: user.accessToken, body: { projectId: project, type: "optimize", nodeId: node } });
  expect(submitted.status).toBe(202);
  const taskId = submitted.body.data.id;
  const root = exporter.getFinishedSpans().find((s) => s.name === "POST /api/v1/ai-tasks");
  expect(root, "the gateway's server span").toBeDefined();
  const traceId = root!.spanContext().traceId;

  const until = Date.now() + 20_000;
  const inTrace = () => exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
  while (!inTrace().some((s) => s.name === "task.run") && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  const task = (await req("GET", `/api/v1/ai-tasks/${taskId}`, { token: user.accessToken })).body.data;
  expect(task.status).toBe("completed");

  const names = inTrace().map((s) => s.name);
  expect(names).toEqual(
    expect.arrayContaining([
      "POST /api/v1/ai-tasks",
      "/sker.broker.v1.BrokerService/SubmitTask",
      "/sker.store.v1.TaskService/CreateTask",
      "task.run",
      "/sker.store.v1.TaskLifecycleService/StartTask",
      "/sker.store.v1.TaskLifecycleService/CompleteTask",
    ]),
  );
  // Every span of the trace hangs off another span of it: one tree, rooted at the gateway.
  const ids = new Set(inTrace().map((s) => s.spanContext().spanId));
  const parentOf = (s: (typeof inTrace extends () => (infer T)[] ? T : never)) => s.parentSpanContext?.spanId;
  for (const s of inTrace()) if (s !== root) expect(ids.has(parentOf(s)!), `${s.name} has its parent in the trace`).toBe(true);
  const run = inTrace().find((s) => s.name === "task.run")!;
  const complete = inTrace().find((s) => s.name === "/sker.store.v1.TaskLifecycleService/CompleteTask" && s.kind === 1 /* SERVER */);
  expect(complete).toBeDefined();
  // CompleteTask's server span descends from the worker's run.
  let cursor = complete;
  const byId = new Map(inTrace().map((s) => [s.spanContext().spanId, s]));
  while (cursor && cursor !== run) cursor = byId.get(parentOf(cursor)!);
  expect(cursor).toBe(run);
}, 60_000);

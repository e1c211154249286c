import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { anthropicProvider } from "../src/providers/anthropic.js";
import { ProviderError } from "../src/providers/errors.js";
import { localProvider } from "../src/providers/local.js";
import { openaiProvider } from "../src/providers/openai.js";
import type { Provider, ProviderRequest } from "../src/providers/types.js";
import { Stop } from "../src/worker/retry.js";
import { fakeLlm, type FakeLlm } from "@sker/testkit/fake-llm";

// The providers as the worker uses them: streamed deltas, parsed output, usage, and how each
// failure is classed for retry. openai and anthropic run their official SDKs against a local
// server replaying their streaming wire formats.

const generate: ProviderRequest = { type: "generate", prompt: "Plan the canvas launch for the design team", context: [{ title: "Goals", content: "Ship collaboration features" }] };
const analyze: ProviderRequest = { type: "analyze", prompt: "", target: { title: "Risk", content: "The database migration may lock tables" }, context: [] };

async function collect(p: Provider, req: ProviderRequest, signal = new AbortController().signal) {
  let streamed = "";
  const result = await p.run(req, (d) => (streamed += d), signal);
  return { result, streamed };
}

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
}

describe("local provider", () => {
  const local = localProvider(0);

  it("is deterministic, streams what it returns, and says it is local", async () => {
    const a = await collect(local, generate);
    const b = await collect(local, generate);
    expect(a.result).toEqual(b.result);
    expect(a.result.provider).toBe("local");
    expect(a.result.output.title).toMatch(/\S/);
    expect(a.result.output.content).toContain("not a language model");
    expect(a.result.output.tags).toContain("local");
    expect(a.streamed).toContain(a.result.output.content.split("\n")[0]);
    expect(a.result.usage.outputTokens).toBeGreaterThan(5);
  });

  it("answers the analyze fields", async () => {
    const { result } = await collect(local, analyze);
    expect(result.output.semanticType).toMatch(/^[a-z]+$/);
    expect(result.output.importance).toBeGreaterThanOrEqual(1);
    expect(result.output.importance).toBeLessThanOrEqual(5);
    expect(result.output.confidence).toBeGreaterThan(0);
    expect(result.output.confidence).toBeLessThanOrEqual(1);
    expect(result.output.tags.length).toBeGreaterThan(0);
  });

  it("honours the token delay and stops when aborted", async () => {
    const slow = localProvider(30);
    const abort = new AbortController();
    setTimeout(() => abort.abort(new Stop("cancelled")), 100);
    const started = Date.now();
    const err = await slow.run(generate, () => undefined, abort.signal).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Stop);
    expect(Date.now() - started).toBeLessThan(400);
  });
});

describe.each([
  ["openai", (llm: FakeLlm) => openaiProvider({ apiKey: "sk-test", baseURL: llm.openaiUrl, timeoutMs: 10_000 }), "/v1/chat/completions", 42, "gpt-fake"],
  ["anthropic", (llm: FakeLlm) => anthropicProvider({ apiKey: "sk-ant-test", baseURL: llm.anthropicUrl, timeoutMs: 10_000 }), "/v1/messages", 37, "claude-fake"],
] as const)("%s provider against its wire format", (name, make, path, inputTokens, model) => {
  let llm: FakeLlm;
  let provider: Provider;
  beforeAll(async () => {
    llm = await fakeLlm();
    provider = make(llm);
  });
  afterAll(() => llm.close());

  it("streams deltas and parses title, content, tags and usage", async () => {
    llm.script({ kind: "stream", text: "Title: Launch plan\n\nStep one. Step two.\n\nTags: Launch, plan" });
    const { result, streamed } = await collect(provider, generate);
    expect(streamed).toBe("Title: Launch plan\n\nStep one. Step two.\n\nTags: Launch, plan");
    expect(result.output).toMatchObject({ title: "Launch plan", content: "Step one. Step two.", tags: ["launch", "plan"] });
    expect(result.usage.inputTokens).toBe(inputTokens);
    expect(result.usage.outputTokens).toBeGreaterThan(0);
    expect(result.provider).toBe(name);
    expect(result.model).toBe(model);
    const sent = llm.requests.at(-1)!;
    expect(sent.path).toBe(path);
    expect(sent.body.stream).toBe(true);
    expect(JSON.stringify(sent.body)).toContain("Plan the canvas launch");
  });

  it("parses an analysis answered as JSON", async () => {
    llm.script({ kind: "stream", text: '{"semanticType": "Risk", "importance": 4, "confidence": 0.8, "tags": ["db"]}' });
    const { result } = await collect(provider, analyze);
    expect(result.output).toMatchObject({ semanticType: "risk", importance: 4, confidence: 0.8, tags: ["db"] });
  });

  it("classes a 429 as transient and honours Retry-After", async () => {
    llm.script({ kind: "error", status: 429, headers: { "retry-after": "7" } });
    const err = await failure(collect(provider, generate));
    expect(err.transient).toBe(true);
    expect(err.code).toBe("PROVIDER_RATE_LIMITED");
    expect(err.retryAfterMs).toBe(7_000);
  });

  it("classes a 503 as transient and a 400 as permanent", async () => {
    llm.script({ kind: "error", status: 503 });
    expect((await failure(collect(provider, generate))).transient).toBe(true);
    llm.script({ kind: "error", status: 400 });
    const bad = await failure(collect(provider, generate));
    expect(bad.transient).toBe(false);
    expect(bad.code).toBe("PROVIDER_HTTP_400");
  });

  it("classes a connection cut mid-stream as transient", async () => {
    llm.script({ kind: "stream", cutAfterChunks: 5, chunkDelayMs: 5 });
    let streamed = "";
    const err = await failure(provider.run(generate, (d) => (streamed += d), new AbortController().signal));
    expect(err.transient).toBe(true);
    expect(streamed.length).toBeGreaterThan(0);
  });

  it("aborts a hanging call with the caller's reason", async () => {
    llm.script({ kind: "hang" });
    const abort = new AbortController();
    setTimeout(() => abort.abort(new Stop("timeout")), 150);
    const started = Date.now();
    const err = await provider.run(generate, () => undefined, abort.signal).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Stop);
    expect((err as Stop).why).toBe("timeout");
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

// A local HTTP server that speaks the streaming wire formats of OpenAI chat completions
// (/v1/chat/completions, SSE "data:" lines ending in [DONE]) and Anthropic messages
// (/v1/messages, named SSE events). Each request takes the next scripted step; with none
// left it streams a normal answer.

export type Step =
  | { kind: "error"; status: number; headers?: Record<string, string>; body?: unknown }
  | { kind: "stream"; text?: string; chunkDelayMs?: number; cutAfterChunks?: number; chunks?: number; model?: string }
  | { kind: "hang" };

export interface Recorded {
  path: string;
  body: any;
  at: number;
}

const DEFAULT_TEXT = "Title: A fake answer\n\nThis is the streamed content of a fake model.\n\nTags: fake, test";

function openaiBlocks(text: string, pieces: string[], model = "gpt-fake"): string[] {
  const base = { id: "chatcmpl-fake", object: "chat.completion.chunk", created: 1, model };
  return [
    `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] })}\n\n`,
    ...pieces.map((p) => `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { content: p }, finish_reason: null }] })}\n\n`),
    `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] })}\n\n`,
    `data: ${JSON.stringify({ ...base, choices: [], usage: { prompt_tokens: 42, completion_tokens: pieces.length, total_tokens: 42 + pieces.length } })}\n\n`,
    "data: [DONE]\n\n",
  ];
}

function anthropicBlocks(text: string, pieces: string[]): string[] {
  const ev = (name: string, data: unknown) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
  return [
    ev("message_start", {
      type: "message_start",
      message: { id: "msg_fake", type: "message", role: "assistant", model: "claude-fake", content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 37, output_tokens: 1 } },
    }),
    ev("content_block_start", { type: "content_block_start", index: 0, content_block: { type: "text", text: "" } }),
    ev("ping", { type: "ping" }),
    ...pieces.map((p) => ev("content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: p } })),
    ev("content_block_stop", { type: "content_block_stop", index: 0 }),
    ev("message_delta", { type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: pieces.length } }),
    ev("message_stop", { type: "message_stop" }),
  ];
}

function split(text: string, n?: number): string[] {
  const words = text.match(/\S+\s*/g) ?? [];
  if (!n || n >= words.length) return words;
  const size = Math.ceil(words.length / n);
  const out: string[] = [];
  for (let i = 0; i < words.length; i += size) out.push(words.slice(i, i + size).join(""));
  return out;
}

export async function fakeLlm() {
  const steps: Step[] = [];
  const requests: Recorded[] = [];
  const sockets = new Set<import("node:net").Socket>();
  let defaultText = DEFAULT_TEXT;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    let raw = "";
    for await (const chunk of req) raw += chunk;
    const body = raw ? JSON.parse(raw) : undefined;
    const path = (req.url ?? "").split("?")[0];
    requests.push({ path, body, at: Date.now() });
    const anthropic = path.endsWith("/messages");
    const step: Step = steps.shift() ?? { kind: "stream" };
    if (step.kind === "hang") return; // never answers; the client must abort
    if (step.kind === "error") {
      const payload = step.body ?? (anthropic ? { type: "error", error: { type: "api_error", message: `fake ${step.status}` } } : { error: { message: `fake ${step.status}`, type: "server_error" } });
      res.writeHead(step.status, { "content-type": "application/json", ...step.headers }).end(JSON.stringify(payload));
      return;
    }
    const text = step.text ?? defaultText;
    const pieces = split(text, step.chunks);
    const blocks = anthropic ? anthropicBlocks(text, pieces) : openaiBlocks(text, pieces, step.model);
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
    let sent = 0;
    for (const block of blocks) {
      if (step.cutAfterChunks !== undefined && sent >= step.cutAfterChunks) {
        req.socket.destroy(); // the connection drops mid-stream
        return;
      }
      if (res.destroyed) return;
      res.write(block);
      sent++;
      if (step.chunkDelayMs) await new Promise((r) => setTimeout(r, step.chunkDelayMs));
    }
    res.end();
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    /** Base URL as the SDKs want it (both append their paths to /v1). */
    openaiUrl: `http://127.0.0.1:${port}/v1`,
    anthropicUrl: `http://127.0.0.1:${port}`,
    requests,
    script(...next: Step[]) {
      steps.push(...next);
    },
    setDefaultText(text: string) {
      defaultText = text;
    },
    pending: () => steps.length,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export type FakeLlm = Awaited<ReturnType<typeof fakeLlm>>;

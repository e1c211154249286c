import OpenAI from "openai";
import { mapSdkError } from "./sdk-errors.js";
import { estimateTokens, parseOutput, systemPrompt, userPrompt } from "./prompt.js";
import type { Provider, ProviderRequest, ProviderResult } from "./types.js";

/** Streaming chat completions through the official SDK; any OpenAI-compatible server via baseURL. */
export function openaiProvider(opts: { apiKey: string; baseURL?: string; model?: string; timeoutMs: number }): Provider {
  // Retries are ours (the delay queues), so the SDK must not retry on its own.
  const client = new OpenAI({ apiKey: opts.apiKey, baseURL: opts.baseURL, maxRetries: 0, timeout: opts.timeoutMs });
  return {
    name: "openai",
    async run(req: ProviderRequest, onDelta: (text: string) => void, signal: AbortSignal): Promise<ProviderResult> {
      const model = req.model || opts.model || "gpt-4o-mini";
      const system = systemPrompt(req.type);
      const user = userPrompt(req);
      let text = "";
      let usage = { inputTokens: 0, outputTokens: 0 };
      let answeredModel = model;
      try {
        const stream = await client.chat.completions.create(
          {
            model,
            messages: [
              { role: "system", content: system },
              { role: "user", content: user },
            ],
            stream: true,
            stream_options: { include_usage: true },
            ...(req.temperature !== undefined ? { temperature: req.temperature } : {}),
            ...(req.maxTokens !== undefined ? { max_tokens: req.maxTokens } : {}),
          },
          { signal },
        );
        for await (const chunk of stream) {
          if (chunk.model) answeredModel = chunk.model;
          const delta = chunk.choices[0]?.delta?.content;
          if (delta) {
            text += delta;
            onDelta(delta);
          }
          if (chunk.usage) usage = { inputTokens: chunk.usage.prompt_tokens, outputTokens: chunk.usage.completion_tokens };
        }
      } catch (err) {
        throw mapSdkError(err, OpenAI, signal, "openai");
      }
      if (usage.inputTokens === 0 && usage.outputTokens === 0)
        usage = { inputTokens: estimateTokens(system + user), outputTokens: estimateTokens(text) };
      return { output: parseOutput(req.type, text), usage, provider: "openai", model: answeredModel };
    },
  };
}

import Anthropic from "@anthropic-ai/sdk";
import { TOKENS } from "@sker/contracts/limits";
import { mapSdkError } from "./sdk-errors.js";
import { parseOutput, systemPrompt, userPrompt } from "./prompt.js";
import type { Provider, ProviderRequest, ProviderResult } from "./types.js";

/** Streaming messages through the official SDK. */
export function anthropicProvider(opts: { apiKey: string; baseURL?: string; model?: string; timeoutMs: number }): Provider {
  const client = new Anthropic({ apiKey: opts.apiKey, baseURL: opts.baseURL, maxRetries: 0, timeout: opts.timeoutMs });
  return {
    name: "anthropic",
    async run(req: ProviderRequest, onDelta: (text: string) => void, signal: AbortSignal): Promise<ProviderResult> {
      const model = req.model || opts.model || "claude-3-5-haiku-latest";
      let text = "";
      const usage = { inputTokens: 0, outputTokens: 0 };
      let answeredModel = model;
      try {
        const stream = await client.messages.create(
          {
            model,
            system: systemPrompt(req.type),
            messages: [{ role: "user", content: userPrompt(req) }],
            max_tokens: req.maxTokens ?? TOKENS.defaultMaxOutput,
            stream: true,
            ...(req.temperature !== undefined ? { temperature: Math.min(1, req.temperature) } : {}),
          },
          { signal },
        );
        for await (const event of stream) {
          if (event.type === "message_start") {
            answeredModel = event.message.model || model;
            usage.inputTokens = event.message.usage.input_tokens;
            usage.outputTokens = event.message.usage.output_tokens;
          } else if (event.type === "content_block_delta" && event.delta.type === "text_delta") {
            text += event.delta.text;
            onDelta(event.delta.text);
          } else if (event.type === "message_delta") {
            usage.outputTokens = event.usage.output_tokens;
          }
        }
      } catch (err) {
        throw mapSdkError(err, Anthropic, signal, "anthropic");
      }
      return { output: parseOutput(req.type, text), usage, provider: "anthropic", model: answeredModel };
    },
  };
}

import { setTimeout as sleep } from "node:timers/promises";
import { ProviderError } from "./errors.js";
import { estimateTokens, parseOutput, userPrompt } from "./prompt.js";
import type { Provider, ProviderRequest, ProviderResult } from "./types.js";

// The `local` provider: a deterministic offline text generator for development, demos and
// tests. It is NOT a language model: it rearranges the words it was given into a note of the
// shape each task type expects, the same input always giving the same output, and says so.

const STOP = new Set(
  "the and for with that this from into your about what when where which there their have will would should could been were they them then than also only just more most some such over under very".split(" "),
);
const SEMANTIC = ["concept", "question", "idea", "fact", "task", "decision", "risk", "reference"];
const LEAD: Record<ProviderRequest["type"], string> = {
  generate: "Draft",
  optimize: "Refined",
  expand: "Expanding on",
  fusion: "Combining",
  analyze: "Analysis of",
};

/** FNV-1a: a stable seed from the input. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

function keywords(text: string): string[] {
  const counts = new Map<string, number>();
  for (const w of text.toLowerCase().match(/[\p{L}\p{N}]{4,}/gu) ?? []) if (!STOP.has(w)) counts.set(w, (counts.get(w) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([w]) => w);
}

/** The whole answer, in the format the language-model providers are asked for. */
export function localAnswer(req: ProviderRequest): string {
  const input = userPrompt(req);
  const seed = hash(`${req.type}\n${input}`);
  const words = keywords(input);
  const topic = words.slice(0, 3).join(" ") || "the canvas";
  const tags = (words.length > 0 ? words.slice(0, 3) : ["note"]).concat("local");
  if (req.type === "analyze") {
    return JSON.stringify({
      semanticType: SEMANTIC[seed % SEMANTIC.length],
      importance: 1 + (seed % 5),
      confidence: Math.round((0.5 + ((seed >>> 8) % 50) / 100) * 100) / 100,
      tags,
    });
  }
  const source = req.type === "optimize" || req.type === "expand" ? (req.target?.content ?? "") : req.prompt;
  const points = words.slice(0, 6).map((w, i) => `- ${w}: point ${i + 1} (${(seed >>> i) % 97})`);
  return [
    `Title: ${LEAD[req.type]} ${topic}`.slice(0, 120),
    "",
    `[local provider: deterministic offline text, not a language model] ${LEAD[req.type]} ${topic}.`,
    source ? `Source: ${source.slice(0, 400)}` : "",
    req.context.length > 0 ? `Built from ${req.context.length} linked note(s): ${req.context.map((c) => c.title).join("; ")}.` : "",
    ...points,
    "",
    `Tags: ${tags.join(", ")}`,
  ]
    .filter((l, i, all) => l !== "" || (i > 0 && all[i - 1] !== ""))
    .join("\n");
}

export function localProvider(tokenDelayMs: number): Provider {
  return {
    name: "local",
    async run(req: ProviderRequest, onDelta: (text: string) => void, signal: AbortSignal): Promise<ProviderResult> {
      const answer = localAnswer(req);
      // "Tokens" are words with their trailing whitespace, streamed one by one.
      const tokens = answer.match(/\S+\s*/g) ?? [];
      for (const token of tokens) {
        if (signal.aborted) throw signal.reason ?? new ProviderError("ABORTED", "aborted", false);
        if (tokenDelayMs > 0) await sleep(tokenDelayMs, undefined, { signal }).catch(() => undefined);
        if (signal.aborted) throw signal.reason ?? new ProviderError("ABORTED", "aborted", false);
        onDelta(token);
      }
      return {
        output: parseOutput(req.type, answer),
        usage: { inputTokens: estimateTokens(userPrompt(req)), outputTokens: tokens.length },
        provider: "local",
        model: req.model || "local-deterministic-1",
      };
    },
  };
}

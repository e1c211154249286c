import { TOKENS } from "@sker/contracts/limits";
import type { TaskOutput } from "@sker/contracts/store/v1/task";
import { ProviderError } from "./errors.js";
import type { ProviderRequest, TaskKind } from "./types.js";

// One prompt and one output format for every language-model provider, so openai and
// anthropic differ only in transport. The text format (title line, body, tags line) streams
// readably as task.progress; analyze answers JSON because its fields are numbers.

const ASK: Record<TaskKind, string> = {
  generate: "Write a new note for the canvas from the request below, using the context notes where they help.",
  optimize: "Rewrite the target note so it is clearer, tighter and better structured. Keep its meaning.",
  expand: "Write a follow-up note that expands on the target note with detail, examples and next steps.",
  fusion: "Fuse the context notes into one coherent note that keeps what each contributes.",
  analyze: "Analyze the target note.",
};

const TEXT_FORMAT =
  "Answer in exactly this format and nothing else:\nTitle: <a short title>\n\n<the note's content, markdown allowed>\n\nTags: <3 to 6 lowercase tags, comma separated>";
const ANALYZE_FORMAT =
  'Answer with one JSON object and nothing else: {"semanticType": one of "concept"|"question"|"idea"|"fact"|"task"|"decision"|"risk"|"reference", "importance": integer 1-5, "confidence": number 0-1, "tags": [3 to 6 lowercase strings]}';

export function systemPrompt(type: TaskKind): string {
  return `You are the writing assistant of a collaborative canvas of notes. ${ASK[type]}\n${type === "analyze" ? ANALYZE_FORMAT : TEXT_FORMAT}`;
}

export function userPrompt(req: ProviderRequest): string {
  const parts: string[] = [];
  req.context.forEach((c, i) => parts.push(`Context note ${i + 1}: ${c.title}\n${c.content}`));
  if (req.target) parts.push(`Target note: ${req.target.title}\n${req.target.content}`);
  if (req.prompt) parts.push(`Request: ${req.prompt}`);
  return parts.join("\n\n---\n\n") || "Write a short note.";
}

/** A rough token count (≈ 4 characters a token) for budgets and for providers that report none. */
export const estimateTokens = (text: string): number => Math.ceil(text.length / TOKENS.charsPerToken);

const EMPTY: TaskOutput = { title: "", content: "", tags: [], semanticType: "", importance: 0, confidence: 0 };

function cleanTags(raw: unknown[]): string[] {
  const tags = raw.map((t) => String(t).trim().toLowerCase().replace(/^#/, "")).filter((t) => t.length > 0 && t.length <= 40);
  return [...new Set(tags)].slice(0, 10);
}

/** The model's full answer → the fields the store applies, per task type. */
export function parseOutput(type: TaskKind, text: string): TaskOutput {
  if (type === "analyze") return parseAnalysis(text);
  const lines = text.replace(/\r\n/g, "\n").trim().split("\n");
  let tags: string[] = [];
  const last = lines.length > 0 ? lines[lines.length - 1] : "";
  if (/^\s*tags\s*:/i.test(last)) {
    tags = cleanTags(last.replace(/^\s*tags\s*:/i, "").split(","));
    lines.pop();
  }
  let title = "";
  const first = lines.length > 0 ? lines[0] : "";
  if (/^\s*(title\s*:|#)/i.test(first)) {
    title = first.replace(/^\s*(title\s*:|#+)\s*/i, "").trim();
    lines.shift();
  }
  const content = lines.join("\n").trim();
  if (!content && !title) throw new ProviderError("PROVIDER_EMPTY_OUTPUT", "the provider answered no text", true);
  if (!title) title = content.split(/\s+/).slice(0, 8).join(" ");
  return { ...EMPTY, title: title.slice(0, 200), content, tags };
}

function parseAnalysis(text: string): TaskOutput {
  const m = /\{[\s\S]*\}/.exec(text);
  let obj: Record<string, unknown>;
  try {
    obj = JSON.parse(m ? m[0] : "") as Record<string, unknown>;
  } catch {
    throw new ProviderError("PROVIDER_BAD_OUTPUT", "the analysis was not a JSON object", true);
  }
  const importance = Math.round(Number(obj.importance));
  const confidence = Number(obj.confidence);
  if (typeof obj.semanticType !== "string" || !Number.isFinite(importance) || !Number.isFinite(confidence))
    throw new ProviderError("PROVIDER_BAD_OUTPUT", "the analysis lacks semanticType, importance or confidence", true);
  return {
    ...EMPTY,
    semanticType: obj.semanticType.trim().toLowerCase().slice(0, 50),
    importance: Math.min(5, Math.max(1, importance)),
    confidence: Math.min(1, Math.max(0, confidence)),
    tags: cleanTags(Array.isArray(obj.tags) ? obj.tags : []),
  };
}

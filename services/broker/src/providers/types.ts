import type { TaskOutput } from "@sker/contracts/store/v1/task";

export type TaskKind = "generate" | "optimize" | "expand" | "fusion" | "analyze";

/** One upstream node as the AI sees it. */
export interface ContextItem {
  title: string;
  content: string;
}

export interface ProviderRequest {
  type: TaskKind;
  prompt: string;
  /** The node the task works on (optimize, analyze, expand, generate onto a node). */
  target?: ContextItem;
  /** Upstream nodes, already in a stable order and cut to the budget. */
  context: ContextItem[];
  model?: string;
  temperature?: number;
  maxTokens?: number;
}

export interface ProviderResult {
  output: TaskOutput;
  usage: { inputTokens: number; outputTokens: number };
  provider: string;
  model: string;
}

/** A streaming AI backend. `onDelta` gets text as it arrives; `signal` aborts the call. */
export interface Provider {
  readonly name: string;
  run(req: ProviderRequest, onDelta: (text: string) => void, signal: AbortSignal): Promise<ProviderResult>;
}

import type { Kysely } from "kysely";
import { TOKENS } from "@sker/contracts/limits";
import type { Database, NodeRow, TaskRow } from "../db/schema.js";
import { nodesInOrder, upstreamCandidates, type UpstreamCandidate } from "./repo.js";

/** The context a StartTask answers, cut to the prompt budget, and what was cut. */
export interface FittedContext {
  nodes: NodeRow[];
  /** Upstream nodes there were before the cut. */
  available: number;
  cut: { kept: number; omitted: number; truncated: number } | undefined;
}

/**
 * The prompt budget of one attempt: the broker's (AI_CONTEXT_TOKENS; 0 is none), lowered to what
 * the task's model takes in: its window less the output the task may write, but never below a
 * quarter of the window (a task asking for nearly the whole window as output still gets context).
 */
export function budgetFor(task: Pick<TaskRow, "options">, budgetChars: number, windowChars: Record<string, number>): number {
  const options = (task.options ?? {}) as { model?: unknown; maxTokens?: unknown };
  const alias = typeof options.model === "string" ? options.model : "";
  const window = windowChars[alias] ?? windowChars[""];
  if (!window) return budgetChars;
  const maxTokens = typeof options.maxTokens === "number" && options.maxTokens > 0 ? options.maxTokens : TOKENS.defaultMaxOutput;
  const fits = Math.max(Math.floor(window / 4), window - maxTokens * TOKENS.charsPerToken);
  return budgetChars > 0 ? Math.min(budgetChars, fits) : fits;
}

/**
 * Most relevant first: the task's own sources, then the heaviest connection into the target,
 * then importance, then the newest; ties by creation so every attempt picks the same.
 */
function byRelevance(a: UpstreamCandidate, b: UpstreamCandidate): number {
  return (
    Number(b.source) - Number(a.source) ||
    b.weight - a.weight ||
    b.importance - a.importance ||
    b.created_at.getTime() - a.created_at.getTime() ||
    a.id.localeCompare(b.id)
  );
}

/**
 * Which upstream nodes fit `budgetChars`: whole nodes in order of relevance while they fit,
 * the first that does not is cut to the room left, the rest are left out. Only what is kept is
 * read, so a StartTask answer stays within the budget whatever the graph holds.
 */
export function choose(candidates: UpstreamCandidate[], budgetChars: number): { whole: Set<string>; cut?: { id: string; chars: number } } {
  const whole = new Set<string>();
  let left = budgetChars;
  for (const c of [...candidates].sort(byRelevance)) {
    if (c.chars <= left) {
      whole.add(c.id);
      left -= c.chars;
      continue;
    }
    return left > 0 ? { whole, cut: { id: c.id, chars: left } } : { whole };
  }
  return { whole };
}

const room = (task: TaskRow, target: NodeRow | undefined, budgetChars: number) =>
  Math.max(0, budgetChars - task.prompt.length - (target ? target.title.length + target.content.length : 0));

/** The kept rows (whole, or the one cut short) and what the cut says. */
function fitted(candidates: UpstreamCandidate[], picked: ReturnType<typeof choose>, rows: NodeRow[]): FittedContext {
  const { cut } = picked;
  const omitted = candidates.length - rows.length;
  return {
    nodes: rows.map((n) => (n.id === cut?.id ? shorten(n, cut.chars) : n)),
    available: candidates.length,
    cut: omitted > 0 || cut ? { kept: rows.length, omitted, truncated: cut ? 1 : 0 } : undefined,
  };
}

const keptIds = (candidates: UpstreamCandidate[], picked: ReturnType<typeof choose>) =>
  candidates.filter((c) => picked.whole.has(c.id) || c.id === picked.cut?.id).map((c) => c.id);

/** The upstream context of a task, read from the database: only what fits is read. */
export async function fitContext(db: Kysely<Database>, task: TaskRow, target: NodeRow | undefined, budgetChars: number): Promise<FittedContext> {
  const candidates = await upstreamCandidates(db, task.project_id, task.node_id, task.source_node_ids);
  if (budgetChars <= 0) return { nodes: await nodesInOrder(db, candidates.map((c) => c.id)), available: candidates.length, cut: undefined };
  const picked = choose(candidates, room(task, target, budgetChars));
  return fitted(candidates, picked, await nodesInOrder(db, keptIds(candidates, picked)));
}

/** The same cut over nodes already read (a run's inputs), keeping their order. */
export function fitLoaded(task: TaskRow, target: NodeRow | undefined, nodes: NodeRow[], budgetChars: number): FittedContext {
  if (budgetChars <= 0) return { nodes, available: nodes.length, cut: undefined };
  const candidates = nodes.map((n) => ({ id: n.id, chars: n.title.length + n.content.length, importance: n.importance, weight: 0, source: true, created_at: n.created_at }));
  const picked = choose(candidates, room(task, target, budgetChars));
  const kept = new Set(keptIds(candidates, picked));
  return fitted(candidates, picked, nodes.filter((n) => kept.has(n.id)));
}

function shorten(node: NodeRow, chars: number): NodeRow {
  const title = node.title.slice(0, chars);
  return { ...node, title, content: `${node.content.slice(0, Math.max(0, chars - title.length))}…` };
}

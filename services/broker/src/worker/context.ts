import type { Node } from "@sker/contracts/store/v1/node";
import type { ContextItem } from "../providers/index.js";

// What of the upstream nodes fits the model: the store answers them in a stable order; we
// keep that order and take whole nodes while they fit, cutting the first one that does not,
// so the same graph always gives the same prompt. Budgets are in approximate tokens (4 chars).

const CHARS_PER_TOKEN = 4;

export function toItem(node: Node): ContextItem {
  return { title: node.title, content: node.content };
}

export function fitContext(nodes: Node[], budgetTokens: number, reservedChars = 0): ContextItem[] {
  let left = budgetTokens * CHARS_PER_TOKEN - reservedChars;
  const out: ContextItem[] = [];
  for (const node of nodes) {
    if (left <= 0) break;
    const item = toItem(node);
    const size = item.title.length + item.content.length;
    if (size <= left) {
      out.push(item);
      left -= size;
    } else {
      const room = Math.max(0, left - item.title.length);
      if (room > 0) out.push({ title: item.title, content: `${item.content.slice(0, room)}…` });
      break;
    }
  }
  return out;
}

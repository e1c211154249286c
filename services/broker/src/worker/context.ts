import type { Node } from "@sker/contracts/store/v1/node";
import type { ContextItem } from "../providers/index.js";

export function toItem(node: Node): ContextItem {
  return { title: node.title, content: node.content };
}

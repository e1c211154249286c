import { createHash } from "node:crypto";
import type { NodeRow, StoredRecipe } from "../db/schema.js";

// What made an AI node's content: its recipe (type, prompt, model and options) and each input's
// identity and content, in input order. Equal hashes mean a run would ask the provider the same
// question, so the node is `cached`.

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

export const contentHash = (n: Pick<NodeRow, "title" | "content">) => sha256(`${n.title}\u0000${n.content}`);

/** Key order fixed, so the same recipe always gives the same text to hash. */
function canonicalRecipe(r: StoredRecipe) {
  const o = r.options ?? {};
  return [r.type, r.prompt ?? "", o.model ?? "", o.temperature ?? null, o.maxTokens ?? null];
}

export function nodeHash(recipe: StoredRecipe, inputs: Pick<NodeRow, "id" | "title" | "content">[]): string {
  return sha256(JSON.stringify({ v: 1, recipe: canonicalRecipe(recipe), inputs: inputs.map((n) => [n.id, contentHash(n)]) }));
}

// What each task type needs (docs/api.md). One function, asked by the gateway, the broker and the
// store alike, so the three answer the same request the same way.

export interface TaskShape {
  /** The REST spelling: generate, optimize, expand, fusion, analyze. */
  type: string;
  nodeId?: string;
  sourceNodeIds?: readonly string[];
  prompt?: string;
}

export interface RuleProblem {
  field: string;
  message: string;
}

export function taskRuleProblem(t: TaskShape): RuleProblem | undefined {
  switch (t.type) {
    case "generate":
      return t.prompt?.trim() ? undefined : { field: "prompt", message: "is required for a generate task" };
    case "optimize":
    case "analyze":
    case "expand":
      return t.nodeId ? undefined : { field: "nodeId", message: `is required for an ${t.type} task` };
    case "fusion": {
      const distinct = new Set((t.sourceNodeIds ?? []).map((s) => s.toLowerCase()));
      return distinct.size >= 2 ? undefined : { field: "sourceNodeIds", message: "a fusion task needs at least 2 distinct source nodes" };
    }
  }
  return undefined;
}

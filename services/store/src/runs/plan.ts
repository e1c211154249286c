// Planning a run, without the database: which AI nodes it covers (the targets and every AI
// node they depend on through input/dependency links), in what order, and what each waits for.
// Plain notes are inputs, never steps: a path stops at them, so only AI nodes can form a cycle.

export interface PlanNode {
  id: string;
  /** For a stable order among nodes that could run in either order. */
  createdAt: Date;
}

export interface Edge {
  from: string;
  to: string;
}

export type Plan = { ok: true; order: { id: string; dependsOn: string[] }[] } | { ok: false; cycle: string[] };

const byAge = (a: PlanNode, b: PlanNode) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export function planRun(aiNodes: PlanNode[], edges: Edge[], targets: string[]): Plan {
  const nodes = new Map(aiNodes.map((n) => [n.id, n]));
  const preds = new Map<string, Set<string>>();
  for (const e of edges) {
    if (!nodes.has(e.from) || !nodes.has(e.to) || e.from === e.to) continue;
    if (!preds.has(e.to)) preds.set(e.to, new Set());
    preds.get(e.to)!.add(e.from);
  }
  // Everything the targets depend on.
  const wanted = new Set<string>();
  const stack = targets.length ? [...targets] : [...nodes.keys()];
  while (stack.length) {
    const id = stack.pop()!;
    if (wanted.has(id)) continue;
    wanted.add(id);
    for (const p of preds.get(id) ?? []) stack.push(p);
  }
  // Kahn's algorithm; among the ready, the oldest node first.
  const indeg = new Map<string, number>();
  const succs = new Map<string, string[]>();
  for (const id of wanted) {
    indeg.set(id, (preds.get(id) ?? new Set()).size);
    for (const p of preds.get(id) ?? []) {
      if (!succs.has(p)) succs.set(p, []);
      succs.get(p)!.push(id);
    }
  }
  const ready = [...wanted].filter((id) => indeg.get(id) === 0).map((id) => nodes.get(id)!);
  const order: { id: string; dependsOn: string[] }[] = [];
  while (ready.length) {
    ready.sort(byAge);
    const n = ready.shift()!;
    order.push({ id: n.id, dependsOn: [...(preds.get(n.id) ?? [])].sort((a, b) => byAge(nodes.get(a)!, nodes.get(b)!)) });
    for (const s of succs.get(n.id) ?? []) {
      indeg.set(s, indeg.get(s)! - 1);
      if (indeg.get(s) === 0) ready.push(nodes.get(s)!);
    }
  }
  if (order.length === wanted.size) return { ok: true, order };
  return { ok: false, cycle: findCycle(new Set([...wanted].filter((id) => indeg.get(id)! > 0)), preds) };
}

/**
 * Every node left over by Kahn's algorithm has a predecessor left over too, so walking
 * predecessors from any of them must come back to a node already seen: that loop is a cycle.
 */
function findCycle(left: Set<string>, preds: Map<string, Set<string>>): string[] {
  const start = [...left].sort()[0];
  const seen = new Map<string, number>();
  const path: string[] = [];
  let id = start;
  while (!seen.has(id)) {
    seen.set(id, path.length);
    path.push(id);
    id = [...preds.get(id)!].filter((p) => left.has(p)).sort()[0];
  }
  // Walked against the arrows: reverse so each node feeds the next.
  return path.slice(seen.get(id)!).reverse();
}

/**
 * Canvases for graph-run tests: plain notes and AI nodes (with a recipe) linked by `input`
 * connections, runs started through the broker, and what the store recorded about them.
 *
 *   const g = await canvas(h);
 *   const a = await g.ai("A", { inputs: [p] });
 *   const run = await g.run();                 // StartRun through the broker
 *   const done = await g.waitRun(run.id);      // until completed | failed | cancelled
 *   g.states(done)                             // { A: "completed", ... } by node name
 */
import { setTimeout as sleep } from "node:timers/promises";
import { fromProtoEnum } from "@sker/kit";
import type { Run } from "@sker/contracts/store/v1/run";
import type { Harness } from "./harness.js";

export async function canvas(h: Harness, brokerPort?: number) {
  const { user, projectId } = await h.seed(0);
  const as = { token: user.token };
  const c = h.store.clients;
  const names = new Map<string, string>();
  const ids = new Map<string, string>();

  const g = {
    user,
    projectId,
    as,
    id: (name: string) => ids.get(name)!,
    name: (id: string) => names.get(id) ?? id,

    async note(name: string, content = `${name}: notes about moon habitats and supply routes`) {
      const { node } = await c.nodes.createNode({ projectId, title: name, content }, as);
      names.set(node!.id, name);
      ids.set(name, node!.id);
      return node!.id;
    },

    async ai(name: string, opts: { inputs?: string[]; type?: string; prompt?: string } = {}) {
      const { node } = await c.nodes.createNode({ projectId, title: name, recipe: { type: opts.type ?? "generate", prompt: opts.prompt ?? `step ${name}`, model: "" } }, as);
      names.set(node!.id, name);
      ids.set(name, node!.id);
      for (const from of opts.inputs ?? []) await g.link(from, node!.id);
      return node!.id;
    },

    async link(from: string, to: string) {
      await c.connections.createConnection({ projectId, sourceNodeId: from, targetNodeId: to, type: "CONNECTION_TYPE_INPUT" }, as);
    },

    async run(opts: { targets?: string[]; force?: boolean } = {}): Promise<Run> {
      const { run } = await h.client(brokerPort).startRun({ projectId, targets: opts.targets ?? [], force: opts.force ?? false }, as);
      return run!;
    },

    async getRun(id: string): Promise<Run> {
      return (await c.runs.getRun({ id }, as)).run!;
    },

    async waitRun(id: string, timeoutMs = 30_000): Promise<Run> {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const run = await g.getRun(id);
        if (g.status(run) !== "running") return run;
        if (Date.now() > end) throw new Error(`run still running: ${JSON.stringify(g.states(run))}`);
        await sleep(50);
      }
    },

    status: (run: Run) => fromProtoEnum<string>(run.status, "RUN_STATUS_"),

    /** Each node's state by name. */
    states(run: Run): Record<string, string> {
      return Object.fromEntries(run.nodes.map((n) => [g.name(n.nodeId), fromProtoEnum<string>(n.state, "RUN_NODE_STATE_")!]));
    },

    /** Names of the nodes of the run in the given state, sorted. */
    inState(run: Run, state: string): string[] {
      return Object.entries(g.states(run))
        .filter(([, s]) => s === state)
        .map(([n]) => n)
        .sort();
    },

    async content(id: string): Promise<string> {
      return (await c.nodes.getNode({ id }, as)).node!.content;
    },

    async edit(id: string, content: string) {
      await c.nodes.updateNode({ id, content }, as);
    },
  };
  return g;
}

export type Canvas = Awaited<ReturnType<typeof canvas>>;

// What the broker benchmarks share: broker processes they spawn (and never leave behind) and a
// count of the SQL statements the in-process store sends.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { KyselyPlugin, RootOperationNode } from "kysely";

const BROKER_MAIN = fileURLToPath(new URL("../services/broker/dist/main.js", import.meta.url));

/** Counts every statement the store sends through kysely (the outbox relay's polling included). */
export function statementCounter() {
  const counter = { n: 0, byKind: new Map<string, number>() };
  const plugin: KyselyPlugin = {
    transformQuery: (args) => {
      counter.n++;
      if (process.env.BENCH_SQL_KINDS) {
        const k = describe(args.node);
        counter.byKind.set(k, (counter.byKind.get(k) ?? 0) + 1);
      }
      return args.node;
    },
    transformResult: async (args) => args.result,
  };
  return { counter, plugin };
}

/** A statement's kind and table, for BENCH_SQL_KINDS=1 (which statements a task costs). */
function describe(node: RootOperationNode): string {
  const n = node as unknown as { kind: string; from?: { froms: unknown[] }; into?: unknown; table?: unknown; sqlFragments?: readonly string[] };
  if (n.kind === "RawNode") return `raw: ${(n.sqlFragments ?? []).join("?").replace(/\s+/g, " ").slice(0, 90)}`;
  return `${n.kind}: ${JSON.stringify(n.from ?? n.into ?? n.table).match(/"name":"([a-z_]+)"/g)?.join(",") ?? ""}`;
}

const children = new Set<ChildProcess>();
// However the bench ends, no broker process outlives it.
process.on("exit", () => children.forEach((c) => c.kill("SIGKILL")));

export async function spawnBroker(env: Record<string, string>): Promise<{ child: ChildProcess; metricsPort: number; port: number }> {
  const child = spawn(process.execPath, [BROKER_MAIN], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] });
  children.add(child);
  child.once("exit", () => children.delete(child));
  const [port, metricsPort] = await new Promise<[number, number]>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /"port":(\d+),"metricsPort":(\d+).*"broker ready"/.exec(out);
      if (m) resolve([Number(m[1]), Number(m[2])]);
    });
    child.on("exit", (code) => reject(new Error(`broker exited (${code}): ${out.slice(-1000)}`)));
  });
  child.stdout!.resume();
  return { child, port, metricsPort };
}


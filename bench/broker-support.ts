// What the broker benchmarks share: broker processes they spawn (and never leave behind) and a
// count of the SQL statements the in-process store sends.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { AsyncLocalStorage } from "node:async_hooks";
import { Server } from "@grpc/grpc-js";
import pg from "pg";

const BROKER_MAIN = fileURLToPath(new URL("../services/broker/dist/main.js", import.meta.url));

/**
 * Counts every statement the in-process store sends, at the driver (node-postgres), so BEGIN,
 * COMMIT and ROLLBACK count like any other round trip; the outbox relays' polling included.
 * With BENCH_SQL_KINDS=1 it also tells them apart by the store RPC being served (the lifecycle
 * step; "background" is the relays) and by statement.
 */
export function statementCounter() {
  const counter = { n: 0, byKind: new Map<string, number>(), byStep: new Map<string, number>() };
  const step = new AsyncLocalStorage<string>();
  // The store's gRPC handlers run inside a scope naming their method.
  const addService = Server.prototype.addService;
  Server.prototype.addService = function (def, impl) {
    const named = Object.fromEntries(
      Object.entries(impl).map(([k, fn]) => [k, typeof fn === "function" ? (...args: unknown[]) => step.run(k, () => (fn as (...a: unknown[]) => unknown)(...args)) : fn]),
    );
    return addService.call(this, def, named as typeof impl);
  };
  const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    counter.n++;
    if (process.env.BENCH_SQL_KINDS) {
      const text = typeof args[0] === "string" ? args[0] : ((args[0] as { text?: string })?.text ?? "?");
      const where = step.getStore() ?? "background";
      const k = `${where.padEnd(16)} ${text.replace(/\s+/g, " ").trim().slice(0, 100)}`;
      counter.byKind.set(k, (counter.byKind.get(k) ?? 0) + 1);
      counter.byStep.set(where, (counter.byStep.get(where) ?? 0) + 1);
    }
    return query.apply(this, args);
  } as typeof pg.Client.prototype.query;
  return { counter };
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


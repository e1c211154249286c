import { spawn } from "node:child_process";
import { resolve } from "node:path";

const ADMIN_JS = resolve(import.meta.dirname, "../../../store/dist/admin.js");

/** Runs `node services/store/dist/admin.js <args>` (what `make admin` runs) against the stack's database. */
export function adminCli(env: Record<string, string>, ...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((ok) => {
    const p = spawn(process.execPath, [ADMIN_JS, ...args], { env: { ...process.env, ...env, LOG_LEVEL: "info" } });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    p.on("exit", (code) => ok({ code: code ?? -1, out }));
  });
}

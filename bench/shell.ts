import { spawnSync } from "node:child_process";

/** Runs a shell command (scripts/up.sh, psql) with extra env; throws when it fails. */
export function sh(cmd: string, env: Record<string, string> = {}): void {
  const r = spawnSync("bash", ["-c", cmd], { env: { ...process.env, ...env }, stdio: "inherit" });
  if (r.status !== 0) throw new Error(`${cmd} failed (${r.status})`);
}

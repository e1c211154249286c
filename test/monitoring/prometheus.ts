// A real Prometheus (Debian's package) on a free port with its own temp dir, scraping the given
// targets every second and evaluating the shipped rules; its HTTP query API for the tests.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../e2e/support/processes.js";
import { RULES_FILE } from "./lib.js";

export interface Target {
  service: string;
  address: string;
}

export interface QueryResult {
  ok: boolean;
  error?: string;
  series: { metric: Record<string, string>; value: [number, string] }[];
}

export interface Prometheus {
  url: string;
  query(expr: string): Promise<QueryResult>;
  logs(): string;
  stop(): Promise<void>;
}

export async function startPrometheus(targets: Target[]): Promise<Prometheus> {
  const dir = mkdtempSync(join(tmpdir(), "sker-prom-"));
  const config = {
    global: { scrape_interval: "1s", evaluation_interval: "1s" },
    rule_files: [RULES_FILE],
    // The chart's ServiceMonitors set the same `service` label (and honour the services' own).
    scrape_configs: targets.map((t) => ({
      job_name: `sker-${t.service}`,
      honor_labels: true,
      static_configs: [{ targets: [t.address], labels: { service: t.service } }],
    })),
  };
  writeFileSync(join(dir, "prometheus.yml"), JSON.stringify(config));
  // Prometheus cannot bind port 0 and say which port it got: a free port is picked, and picked
  // again when someone else took it before Prometheus bound it.
  for (let attempt = 1; ; attempt++) {
    const started = await launch(dir, await freePort());
    if (!("taken" in started)) return started;
    if (attempt === 3) throw new Error(`prometheus found its port taken 3 times\n${started.taken}`);
  }
}

async function launch(dir: string, port: number): Promise<Prometheus | { taken: string }> {
  const out: string[] = [];
  const proc: ChildProcess = spawn(
    "prometheus",
    [`--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let failed: Error | undefined;
  proc.once("error", (err) => (failed = new Error(`prometheus could not run (bash scripts/tools.sh installs it): ${err.message}`)));
  proc.stdout!.on("data", (d) => out.push(String(d)));
  proc.stderr!.on("data", (d) => out.push(String(d)));
  const url = `http://127.0.0.1:${port}`;
  const logs = () => out.join("").slice(-4000);
  const until = Date.now() + 60_000;
  while (!(await fetch(`${url}/-/ready`).then((r) => r.ok, () => false))) {
    if (failed) throw failed;
    if (proc.exitCode !== null && /address already in use/.test(logs())) return { taken: logs() };
    if (proc.exitCode !== null || Date.now() > until) throw new Error(`prometheus did not start\n${logs()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    logs,
    async query(expr) {
      const res = await fetch(`${url}/api/v1/query`, { method: "POST", body: new URLSearchParams({ query: expr }) });
      const body = (await res.json()) as { status: string; error?: string; data?: { result: QueryResult["series"] } };
      return { ok: body.status === "success", error: body.error, series: body.data?.result ?? [] };
    },
    async stop() {
      if (proc.exitCode === null && !failed) {
        const exited = new Promise((r) => proc.once("exit", r));
        proc.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

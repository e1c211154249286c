// The README's walkthrough, pasted as written into bash against `make run`'s all-in-one mesh:
// if the README drifts from the system, this fails. Only the address is changed (a free port).
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startMesh, type Mesh } from "./support/processes.js";

const ROOT = resolve(import.meta.dirname, "../..");
let mesh: Mesh;

beforeAll(async () => {
  mesh = await startMesh("all-in-one", { LOCAL_AI_TOKEN_DELAY_MS: "5" });
}, 200_000);
afterAll(async () => {
  await mesh?.stop();
}, 60_000);

function walkthroughBlocks(): string[] {
  const readme = readFileSync(resolve(ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Walkthrough"), readme.indexOf("### WebSocket"));
  return [...section.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1]);
}

function bash(script: string, env: Record<string, string>): Promise<{ code: number; out: string }> {
  return new Promise((ok) => {
    const p = spawn("bash", ["-c", script], { cwd: ROOT, env: { ...process.env, ...env } });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    p.on("exit", (code) => ok({ code: code ?? -1, out }));
  });
}

it("the README walkthrough works as written", async () => {
  const [setup, watch, task, invite, run] = walkthroughBlocks();
  expect(watch).toContain("scripts/watch.mjs");
  const here = (s: string) => s.replaceAll("http://localhost:3000", mesh.url);
  // One shell, like a reader's terminals: the watcher runs in the background meanwhile.
  const script = [
    "set -eo pipefail",
    here(setup),
    `(${watch.trim()}) > "$WATCH_LOG" 2>&1 &`,
    "WATCHER=$!",
    "sleep 1",
    here(task),
    here(invite),
    here(run),
    "sleep 1; kill $WATCHER",
  ].join("\n");
  const watchLog = `/tmp/sker-readme-watch-${process.pid}.log`;
  const { code, out } = await bash(script, { WATCH_LOG: watchLog, SKER_URL: mesh.url });
  expect(code, out).toBe(0);
  expect(out).toMatch(/token=ey\S+ project=[0-9a-f-]{36} node=[0-9a-f-]{36}/);
  expect(out).toContain('"status": "completed"');
  expect(out).toContain('"provider": "local"');
  // The expand task added a second node to the graph.
  expect(out).toMatch(/\[\s*"Habitat",\s*"[^"]+"\s*\]/);
  const frames = readFileSync(watchLog, "utf8").split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
  const names = frames.filter((f) => f.type === "event").map((f) => f.name);
  expect(frames.slice(0, 2).map((f) => f.type)).toEqual(["authenticated", "subscribed"]);
  expect(names).toEqual(expect.arrayContaining(["node.created", "task.queued", "task.started", "task.progress", "task.completed", "member.added"]));
  // The invited colleague registered with the invitation's token and sees the canvas.
  expect(out, out).toMatch(/\[\s*"Moon base"\s*\]/);
  expect(out, out).toMatch(/"username": "grace",\s*"email": "grace@example.com",\s*"role": "editor"/);
  expect(out, out).toMatch(/"username": "ada",\s*"email": "ada@example.com",\s*"role": "owner"/);
  // The graph run: two AI nodes run, then both cached, then the edited input re-runs the target.
  expect(out).toContain('{"status":"completed","states":["completed","completed"]}');
  expect(out).toMatch(/\{"changeType":"ai_run","runId":"[0-9a-f-]{36}","taskId":"[0-9a-f-]{36}"\}/);
  expect(out).toContain('{"status":"completed","states":["cached","cached"]}');
  expect(out).toContain('["queued"]');
  expect(names).toEqual(expect.arrayContaining(["run.started", "run.node", "run.finished"]));
}, 60_000);

// Bad configuration stops each entry point at once, with one line naming the variable; and
// production refuses to start on a development default.
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");

function run(entry: string, env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((ok) => {
    const p = spawn(process.execPath, [join(ROOT, entry)], { env: { PATH: process.env.PATH ?? "", SKER_DATA_DIR: mkdtempSync(join(tmpdir(), "sker-cfg-")), ...env } });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    const timer = setTimeout(() => p.kill("SIGKILL"), 15_000);
    p.on("exit", (code) => (clearTimeout(timer), ok({ code, out })));
  });
}

describe.each([
  ["store", "services/store/dist/main.js", "STORE_PORT"],
  ["broker", "services/broker/dist/main.js", "BROKER_CONCURRENCY"],
  ["gateway", "services/gateway/dist/main.js", "GATEWAY_PORT"],
  ["all-in-one", "services/allinone/dist/main.js", "GATEWAY_PORT"],
])("%s", (_name, entry, variable) => {
  it(`exits 1 naming ${variable} when it is malformed`, async () => {
    const { code, out } = await run(entry, { [variable]: "lots" });
    expect(code).toBe(1);
    expect(out).toContain(variable);
  });

  it("refuses NODE_ENV=production without JWT_SECRET", async () => {
    const { code, out } = await run(entry, { NODE_ENV: "production", DATABASE_URL: "postgres://127.0.0.1:1/none" });
    expect(code).toBe(1);
    expect(out).toContain("JWT_SECRET");
  });
});

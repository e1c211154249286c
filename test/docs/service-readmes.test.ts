// Each service's README lists, under "## Settings", exactly the environment variables its code
// reads: every name passed to the kit's env reader (`e.int("STORE_PORT", …)`,
// `envReader(env).optional("AI_MODELS_FILE")`) in the service's src/, plus the kit's
// commonConfig that every service runs. A setting added without a line there, or a line left
// behind by a removed one, fails here with the names.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SERVICES = ["store", "broker", "gateway"];
const READS = /\.(?:str|optional|int|bool|oneOf|url|list)\(\s*"([A-Z][A-Z0-9_]*)"/g;

function tsFiles(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path).flatMap((f) => tsFiles(join(path, f))).filter((f) => f.endsWith(".ts"));
}

function settingsRead(paths: string[]): Set<string> {
  const names = new Set<string>();
  for (const file of paths.flatMap(tsFiles)) for (const m of readFileSync(file, "utf8").matchAll(READS)) names.add(m[1]);
  return names;
}

function settingsListed(readme: string): Set<string> {
  const section = readme.split(/^## /m).find((s) => s.startsWith("Settings\n"));
  if (!section) throw new Error("no ## Settings section");
  return new Set([...section.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]));
}

describe.each(SERVICES)("services/%s/README.md", (svc) => {
  it("lists exactly the settings the service reads", () => {
    const read = settingsRead([join(ROOT, "services", svc, "src"), join(ROOT, "services/kit/src/config.ts")]);
    const listed = settingsListed(readFileSync(join(ROOT, "services", svc, "README.md"), "utf8"));
    expect(read.size).toBeGreaterThan(20);
    expect({
      "read but not listed": [...read].filter((n) => !listed.has(n)).sort(),
      "listed but never read": [...listed].filter((n) => !read.has(n)).sort(),
    }).toEqual({ "read but not listed": [], "listed but never read": [] });
  });
});

describe("the check itself", () => {
  it("finds what the env reader is asked for, and only in the Settings section", () => {
    const dir = join(ROOT, "services/kit/src/config.ts");
    expect(settingsRead([dir])).toContain("JWT_SECRET");
    const readme = "# x\n## Settings\n- `A_B`\n## Tests\n`NOT_THIS`\n";
    expect([...settingsListed(readme)]).toEqual(["A_B"]);
  });
});

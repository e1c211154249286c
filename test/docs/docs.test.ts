// The docs live in the repository and stay true: nothing points outside the repo, every
// relative link and anchor resolves, every alert has its runbook, and docs/api.md's generated
// part matches the route schemas and protos.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { rules } from "../monitoring/lib.js";

const ROOT = resolve(import.meta.dirname, "../..");
const tracked = execFileSync("git", ["ls-files", "-co", "--exclude-standard"], { cwd: ROOT, encoding: "utf8" })
  .split("\n")
  .filter((f) => f && existsSync(join(ROOT, f)) && !f.startsWith("services/contracts/src/gen/") && !f.endsWith("package-lock.json"));
const text = (f: string) => readFileSync(join(ROOT, f), "utf8");
const markdown = tracked.filter((f) => f.endsWith(".md"));

/** GitHub's heading anchors: lowercase, punctuation dropped, spaces to dashes. */
const anchors = (md: string) =>
  new Set([...md.matchAll(/^#{1,6} (.+)$/gm)].map((m) => m[1].trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, "").replace(/ /g, "-")));

describe("the repository is self-contained", () => {
  it("no file refers to a path outside the repository (a sibling folder, the build machine's paths)", () => {
    const outside: string[] = [];
    // The folder beside the repository that the project's first documents came from; built from
    // its name so that this file itself points nowhere.
    const sibling = ["sha", "red"].join("");
    const beside = new RegExp(String.raw`((?:\.\.\/)+)${sibling}\b`, "g");
    const machine = new RegExp(String.raw`\/work\/${sibling}\S*|\b(?:DESIGN|TOOLCHAIN)\.md\b|\bDESIGN §\d`, "g");
    // This file names the patterns it looks for.
    for (const f of tracked.filter((t) => t !== "test/docs/docs.test.ts")) {
      const body = text(f);
      if (body.includes("\u0000")) continue;
      for (const m of body.matchAll(/(?:\.\.\/)+[\w.-]+(?:\/[\w.-]+)*/g)) {
        const target = resolve(ROOT, dirname(f), m[0]);
        if (relative(ROOT, target).startsWith("..")) outside.push(`${f}: ${m[0]}`);
      }
      // Any relative path to that folder that is not a folder of the repository points there.
      for (const m of body.matchAll(beside)) {
        const dir = resolve(ROOT, dirname(f), m[1], sibling);
        if (relative(ROOT, dir).startsWith("..") || !existsSync(dir)) outside.push(`${f}: ${m[0]}`);
      }
      for (const m of body.matchAll(machine)) outside.push(`${f}: ${m[0]}`);
    }
    expect(outside).toEqual([]);
  });

  it("every relative link in the Markdown files resolves, anchors included", () => {
    const broken: string[] = [];
    for (const f of markdown) {
      for (const [, href] of text(f).matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/i.test(href)) continue;
        const [path, anchor] = href.split("#");
        const target = path ? join(dirname(f), path) : f;
        if (!existsSync(join(ROOT, target))) broken.push(`${f}: ${href}`);
        else if (anchor && target.endsWith(".md") && !anchors(text(target)).has(anchor)) broken.push(`${f}: ${href} (no such heading)`);
      }
    }
    expect(markdown).toEqual(expect.arrayContaining(["README.md", "docs/architecture.md", "docs/api.md", "docs/operations.md"]));
    expect(broken).toEqual([]);
  });
});

describe("docs/operations.md", () => {
  it("has a runbook section for every alert, where the alert's runbook annotation points", () => {
    const ops = anchors(text("docs/operations.md"));
    const rulesFile = text("charts/sker/files/prometheus/rules.yaml");
    for (const { alert } of rules()) {
      expect(ops.has(alert.toLowerCase()), `runbook for ${alert}`).toBe(true);
      expect(rulesFile).toContain(`runbook: docs/operations.md#${alert.toLowerCase()}`);
    }
  });
});

describe("docs/api.md", () => {
  const check = (file?: string) =>
    spawnSync(process.execPath, ["scripts/gen-api-docs.mjs", "--check"], { cwd: ROOT, encoding: "utf8", env: { ...process.env, ...(file ? { API_DOC_FILE: file } : {}) } });

  it("matches the error table, the route schemas and the protos (node scripts/gen-api-docs.mjs)", () => {
    const r = check();
    expect(r.status, r.stderr).toBe(0);
    expect(text("docs/api.md")).toMatch(/### `POST \/api\/v1\/ai-tasks`/);
    expect(text("docs/api.md")).toMatch(/### `sker\.store\.v1\.\w+`/);
  }, 60_000);

  it("fails the check when a documented route drifts from its schema", () => {
    const copy = join(mkdtempSync(join(tmpdir(), "sker-apidoc-")), "api.md");
    writeFileSync(copy, text("docs/api.md").replace("| `projectId` | string (uuid) | yes |", "| `projectId` | string | |"));
    const r = check(copy);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("out of date");
  }, 60_000);
});

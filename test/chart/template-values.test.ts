// Templates and values.yaml agree both ways: every value path a template reads exists in
// values.yaml (a misspelt path would silently render nothing), and every value in values.yaml
// is read by some template (a value nobody reads is a knob that does nothing).
//
// Two kinds of reads are recognised:
//   .Values.a.b        — anywhere (also $.Values, .root.Values)
//   $x.a.b             — where $x was assigned from `include "sker.component"`: a service's
//                        merged settings, so a.b must exist under `defaults` or some service.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { CHART, chartValues, type Obj } from "./lib.js";

function templateFiles(dir = join(CHART, "templates")): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? templateFiles(p) : [p];
  });
}

interface Reads {
  values: Map<string, string>; // path → first file reading it
  component: Map<string, string>;
}

function collectReads(): Reads {
  const values = new Map<string, string>();
  const component = new Map<string, string>();
  for (const file of templateFiles()) {
    const text = readFileSync(file, "utf8");
    const where = relative(CHART, file);
    for (const m of text.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) {
      const path = m[1].slice(1);
      if (!values.has(path)) values.set(path, where);
    }
    const vars = new Set([...text.matchAll(/\$(\w+)\s*:=\s*include\s+"sker\.component"/g)].map((m) => m[1]));
    // Helpers receive merged settings as `.c` and name them $c.
    if (/\$c\s*:=\s*\.c\b/.test(text)) vars.add("c");
    for (const v of vars) {
      for (const m of text.matchAll(new RegExp(`\\$${v}((?:\\.[A-Za-z_][A-Za-z0-9_]*)+)`, "g"))) {
        const path = m[1].slice(1);
        if (!component.has(path)) component.set(path, where);
      }
    }
  }
  return { values, component };
}

const isMap = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

function resolves(root: Obj, path: string): boolean {
  let cur: unknown = root;
  for (const key of path.split(".")) {
    if (!isMap(cur) || !(key in cur)) return false;
    cur = cur[key];
  }
  return true;
}

/** Paths of leaves; lists and empty maps count as leaves (templates hand them on whole). */
function leaves(node: unknown, prefix: string[] = []): string[] {
  if (!isMap(node) || Object.keys(node).length === 0) return [prefix.join(".")];
  return Object.entries(node).flatMap(([k, v]) => leaves(v, [...prefix, k]));
}

const covered = (leaf: string, reads: Iterable<string>) => [...reads].some((r) => leaf === r || leaf.startsWith(r + "."));

describe("templates ↔ values.yaml", () => {
  const values = chartValues();
  const reads = collectReads();
  // Services and their defaults are read through the merged settings, not as .Values paths.
  const componentRoots = new Set(["services", "defaults"]);

  it("finds reads of both kinds (the scanner itself works)", () => {
    expect(reads.values.size).toBeGreaterThan(20);
    expect(reads.component.size).toBeGreaterThan(20);
    expect(reads.values.has("config.logLevel")).toBe(true);
    expect(reads.component.has("probes.readiness")).toBe(true);
  });

  it("every .Values path a template reads exists in values.yaml", () => {
    const missing = [...reads.values].filter(([p]) => !resolves(values, p)).map(([p, f]) => `${p} (${f})`);
    expect(missing).toEqual([]);
  });

  it("every per-service setting a template reads exists in defaults or a service", () => {
    const services = Object.values(values.services as Obj) as Obj[];
    const missing = [...reads.component]
      .filter(([p]) => !resolves(values.defaults, p) && !services.some((s) => resolves(s, p)))
      .map(([p, f]) => `${p} (${f})`);
    expect(missing).toEqual([]);
  });

  it("every top-level setting a per-service read starts from has a default (strict rendering needs it)", () => {
    const tops = new Set([...reads.component.keys()].map((p) => p.split(".")[0]));
    expect([...tops].filter((t) => !(t in values.defaults))).toEqual([]);
  });

  it("every value in values.yaml is read by a template", () => {
    const unused: string[] = [];
    for (const [top, node] of Object.entries(values)) {
      if (componentRoots.has(top)) continue;
      for (const leaf of leaves(node, [top])) if (!covered(leaf, reads.values.keys())) unused.push(leaf);
    }
    for (const leaf of leaves(values.defaults)) if (!covered(leaf, reads.component.keys())) unused.push(`defaults.${leaf}`);
    for (const [name, svc] of Object.entries(values.services as Obj)) {
      for (const leaf of leaves(svc)) if (!covered(leaf, reads.component.keys())) unused.push(`services.${name}.${leaf}`);
    }
    expect(reads.values.has("services") && reads.values.has("defaults")).toBe(true);
    expect(unused).toEqual([]);
  });

  it("the scanner flags a value nobody reads", () => {
    const probe = { ...values, unusedKnob: { size: 1 } };
    const unused = leaves(probe.unusedKnob, ["unusedKnob"]).filter((l) => !covered(l, reads.values.keys()));
    expect(unused).toEqual(["unusedKnob.size"]);
  });
});

// The stand-in for `helm lint --strict` finds what helm would: a chart file that breaks its
// rules, values the schema refuses; and the shipped chart is clean with every ci/ file.
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { CHART, ciFiles, readYaml } from "./lib.js";
import { lintProblems } from "./lint.js";

/** A copy of the chart's lint inputs in a folder named like the chart, with Chart.yaml changed. */
function chartWith(change: Record<string, unknown>): string {
  const dir = join(mkdtempSync(join(tmpdir(), "sker-lint-")), "sker");
  mkdirSync(join(dir, "templates"), { recursive: true });
  for (const f of ["values.yaml", "values.schema.json"]) cpSync(join(CHART, f), join(dir, f));
  writeFileSync(join(dir, "Chart.yaml"), stringify({ ...readYaml(join(CHART, "Chart.yaml")), ...change }));
  return dir;
}

describe("helm lint --strict stand-in", () => {
  it("finds nothing in the shipped chart with any ci/ values file", () => {
    for (const f of ciFiles()) expect(lintProblems(CHART, f), f).toEqual([]);
  });

  it("names a version that is not SemVer, a name unlike the folder, a bad kubeVersion", () => {
    const problems = lintProblems(chartWith({ version: "1.0", name: "other", kubeVersion: "newest" }));
    expect(problems.join("\n")).toMatch(/version "1\.0" is not SemVer 2/);
    expect(problems.join("\n")).toMatch(/name "other" must match/);
    expect(problems.join("\n")).toMatch(/kubeVersion "newest" is not a version constraint/);
  });

  it("names values the schema refuses", () => {
    const bad = join(mkdtempSync(join(tmpdir(), "sker-lint-values-")), "bad.yaml");
    writeFileSync(bad, stringify({ services: { gateway: { replicas: "many" } } }));
    expect(lintProblems(CHART, bad).join("\n")).toMatch(/^values: \/services\/gateway\/replicas /m);
  });
});

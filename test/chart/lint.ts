// What `helm lint --strict` checks beyond rendering, for machines without helm (none can be had
// here: not in Debian, not on npm). Rendering itself is strict already: the stand-in uses
// missingkey=error, as lint --strict does. Left: the chart file's rules and the values schema.
import Ajv from "ajv";
import { existsSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { coalesce, readYaml, type Obj } from "./lib.js";

// SemVer 2 (helm refuses a chart version that is not one).
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
// One or more comparisons joined by spaces or commas, alternatives by ||: ">=1.30.0-0", "~1.31".
const CONSTRAINT = /^\s*(?:[<>=!~^]*\s*v?\d+(?:\.\d+){0,2}(?:-[0-9A-Za-z.-]+)?[\s,]*)+(?:\|\|\s*(?:[<>=!~^]*\s*v?\d+(?:\.\d+){0,2}(?:-[0-9A-Za-z.-]+)?[\s,]*)+)*$/;

/** Problems helm lint --strict would report for the chart in `dir` with `valuesFile`; [] when clean. */
export function lintProblems(dir: string, valuesFile?: string): string[] {
  const problems: string[] = [];
  const chart = readYaml(join(dir, "Chart.yaml"));
  if (chart.apiVersion !== "v2") problems.push(`Chart.yaml: apiVersion must be v2, got ${JSON.stringify(chart.apiVersion)}`);
  if (typeof chart.name !== "string" || !chart.name) problems.push("Chart.yaml: name is required");
  else if (chart.name !== basename(dir)) problems.push(`Chart.yaml: name "${chart.name}" must match the directory "${basename(dir)}"`);
  if (typeof chart.version !== "string" || !SEMVER.test(chart.version)) problems.push(`Chart.yaml: version ${JSON.stringify(chart.version)} is not SemVer 2`);
  if (chart.type !== undefined && chart.type !== "application" && chart.type !== "library") problems.push(`Chart.yaml: type must be application or library`);
  if (chart.kubeVersion !== undefined && (typeof chart.kubeVersion !== "string" || !CONSTRAINT.test(chart.kubeVersion)))
    problems.push(`Chart.yaml: kubeVersion ${JSON.stringify(chart.kubeVersion)} is not a version constraint`);
  if (!existsSync(join(dir, "templates"))) problems.push("templates/ is missing");
  if (!existsSync(join(dir, "values.yaml"))) problems.push("values.yaml is missing");

  const schemaFile = join(dir, "values.schema.json");
  if (existsSync(schemaFile)) {
    const validate = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true }).compile(JSON.parse(readFileSync(schemaFile, "utf8")) as Obj);
    const values = coalesce(readYaml(join(dir, "values.yaml")), valuesFile ? readYaml(valuesFile) : {});
    if (!validate(values)) problems.push(...(validate.errors ?? []).map((e) => `values: ${e.instancePath || "/"} ${e.message}`));
  }
  return problems;
}

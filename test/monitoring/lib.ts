// What the monitoring tests share: the rule file and dashboards the chart ships, and their PromQL.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CHART, readYaml, type Obj } from "../chart/lib.js";

export const RULES_FILE = join(CHART, "files/prometheus/rules.yaml");
export const DASHBOARD_DIR = join(CHART, "files/grafana");

export interface Rule {
  alert: string;
  expr: string;
}

export const rules = (): Rule[] => (readYaml(RULES_FILE).groups as Obj[]).flatMap((g) => g.rules as Rule[]);

export interface Panel {
  dashboard: string;
  title: string;
  expr: string;
}

export const dashboards = (): { file: string; json: Obj }[] =>
  readdirSync(DASHBOARD_DIR)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((file) => ({ file, json: JSON.parse(readFileSync(join(DASHBOARD_DIR, file), "utf8")) as Obj }));

/** Every query of every panel (rows' nested panels included). */
export function panelQueries(): Panel[] {
  const out: Panel[] = [];
  const walk = (dashboard: string, panels: Obj[]) => {
    for (const p of panels ?? []) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ dashboard, title: p.title, expr: t.expr });
      walk(dashboard, p.panels);
    }
  };
  for (const { file, json } of dashboards()) walk(file, json.panels);
  return out;
}

/**
 * The series selectors of an expression: `name{matchers}` (the rules and dashboards always
 * write the braces, so a bare metric name is a mistake the tests flag), for querying one by one.
 */
export function selectors(expr: string): string[] {
  return [...new Set([...expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}/g)].map((m) => m[0]))];
}

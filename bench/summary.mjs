// One table from every bench-results/<name>.json written by the benchmarks.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";

const dir = "bench-results";
const rows = [];
for (const f of readdirSync(dir).filter((f) => f.endsWith(".json") && f !== "summary.json")) {
  for (const r of JSON.parse(readFileSync(`${dir}/${f}`, "utf8"))) rows.push({ suite: f.replace(/\.json$/, ""), ...r });
}
const fmt = (v) => (typeof v === "number" ? (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2)) : (v ?? ""));
const table = rows.map((r) => ({
  suite: r.suite,
  figure: r.name,
  value: `${fmt(r.value)} ${r.unit ?? ""}`.trim(),
  baseline: r.baseline ? `${r.baseline}: ${fmt(r.baselineValue)}` : "",
  ratio: r.ratio === undefined ? "" : fmt(r.ratio),
}));
console.table(table);
writeFileSync(`${dir}/summary.json`, JSON.stringify(rows, null, 2));
console.log(`bench: ${rows.length} figures; written to ${dir}/summary.json`);

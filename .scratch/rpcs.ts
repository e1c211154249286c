import * as fs from "node:fs";
const out: Record<string, string[]> = {};
for (const dir of ["store", "broker"]) {
  for (const f of fs.readdirSync(`services/contracts/src/gen/sker/${dir}/v1`).filter((f) => f.endsWith(".ts"))) {
    const m = await import(`../services/contracts/src/gen/sker/${dir}/v1/${f}`);
    for (const [k, v] of Object.entries(m)) {
      if (!k.endsWith("Service") || typeof v !== "object" || !v) continue;
      const methods = Object.values(v as Record<string, { path?: string }>).map((x) => x.path).filter(Boolean) as string[];
      if (!methods.length) continue;
      const svc = methods[0].split("/")[1];
      out[svc] = methods.map((p) => p.split("/")[2]);
    }
  }
}
for (const [s, ms] of Object.entries(out)) console.log(`- \`${s.split(".").pop()}\` (${s}): ${ms.join(", ")}`);

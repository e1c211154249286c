// The Grafana dashboards are importable as shipped: unique uids, a Prometheus datasource
// variable every query uses (no datasource uid of one installation baked in), non-overlapping panels.
import { describe, expect, it } from "vitest";
import { dashboards, panelQueries } from "./lib.js";

describe("Grafana dashboards (charts/sker/files/grafana)", () => {
  const all = dashboards();

  it("are the overview, gateway, store and broker dashboards, with unique uids and titles", () => {
    expect(all.map((d) => d.file)).toEqual(["sker-broker.json", "sker-gateway.json", "sker-overview.json", "sker-store.json"]);
    expect(new Set(all.map((d) => d.json.uid)).size).toBe(all.length);
    expect(new Set(all.map((d) => d.json.title)).size).toBe(all.length);
  });

  it("query through the datasource variable only", () => {
    for (const { file, json } of all) {
      expect(json.templating.list.find((v: any) => v.name === "datasource")?.type, file).toBe("datasource");
      for (const p of json.panels) {
        expect(p.datasource?.uid, `${file}: ${p.title}`).toBe("${datasource}");
        for (const t of p.targets) expect(t.datasource?.uid, `${file}: ${p.title}`).toBe("${datasource}");
      }
    }
    expect(panelQueries().length).toBeGreaterThan(40);
  });

  it("lay panels out without overlaps", () => {
    for (const { file, json } of all) {
      const cells = new Set<string>();
      for (const p of json.panels) {
        const { x, y, w, h } = p.gridPos;
        for (let i = x; i < x + w; i++)
          for (let j = y; j < y + h; j++) {
            expect(cells.has(`${i},${j}`), `${file}: ${p.title} overlaps`).toBe(false);
            cells.add(`${i},${j}`);
          }
      }
    }
  });
});

// Chart.yaml's kubeVersion is the oldest cluster that runs every manifest the chart can render:
// the newest Kubernetes feature used across all ci/*.yaml renders sets its lower bound.
import { basename, join } from "node:path";
import { describe, expect, it } from "vitest";
import { CHART, ciFiles, findRenderer, readYaml, yamlDocs, type Obj } from "./lib.js";

/** Features with the release that turned them on by default, found in a rendered manifest. */
const FEATURES: { name: string; since: [number, number]; usedBy: (doc: Obj) => boolean }[] = [
  { name: "preStop sleep action (PodLifecycleSleepAction beta)", since: [1, 30], usedBy: (d) => containers(d).some((c) => c.lifecycle?.preStop?.sleep) },
  { name: "gRPC probes", since: [1, 27], usedBy: (d) => containers(d).some((c) => [c.startupProbe, c.livenessProbe, c.readinessProbe].some((p) => p?.grpc)) },
  { name: "autoscaling/v2", since: [1, 23], usedBy: (d) => d.apiVersion === "autoscaling/v2" },
  { name: "policy/v1 PodDisruptionBudget", since: [1, 21], usedBy: (d) => d.apiVersion === "policy/v1" },
];

function containers(doc: Obj): Obj[] {
  const pod = doc.spec?.template?.spec ?? (doc.kind === "Pod" ? doc.spec : undefined);
  return [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])];
}

const lowerBound = (constraint: string): [number, number] => {
  const m = /^>=\s*(\d+)\.(\d+)\.\d+(-0)?$/.exec(constraint.trim());
  if (!m) throw new Error(`kubeVersion ${constraint} is not of the form >=X.Y.Z-0`);
  return [Number(m[1]), Number(m[2])];
};
const newer = (a: [number, number], b: [number, number]) => (a[0] - b[0] || a[1] - b[1]) > 0;

const renderer = findRenderer();

describe("Chart.yaml kubeVersion", () => {
  it("is a lower bound that admits pre-release builds (cloud providers' -eks, -gke suffixes)", () => {
    expect(readYaml(join(CHART, "Chart.yaml")).kubeVersion).toMatch(/^>=\d+\.\d+\.\d+-0$/);
  });

  it("equals the release of the newest feature any ci/*.yaml render uses", () => {
    expect(renderer, "no chart renderer: bash scripts/tools.sh").toBeTruthy();
    let needed: [number, number] = [1, 0];
    const used = new Set<string>();
    for (const file of ciFiles()) {
      for (const doc of yamlDocs(renderer!.render(file))) {
        for (const f of FEATURES) {
          if (!f.usedBy(doc)) continue;
          used.add(`${f.name} (${basename(file)})`);
          if (newer(f.since, needed)) needed = f.since;
        }
      }
    }
    expect(used.size).toBeGreaterThan(0);
    expect(lowerBound(readYaml(join(CHART, "Chart.yaml")).kubeVersion), [...used].join(", ")).toEqual(needed);
  });
});

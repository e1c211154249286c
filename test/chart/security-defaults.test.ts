// The chart's defaults are the safe ones: network policies on, the gateway open only to the
// ingress controller's namespace, listeners bound as documented (0.0.0.0 in the pod).
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { CHART, ciFiles, findRenderer, RELEASE, valuesWith, yamlDocs, type Obj } from "./lib.js";

const renderer = findRenderer();

describe("chart defaults (ci/default-values.yaml)", () => {
  let docs: Obj[] = [];
  beforeAll(() => {
    expect(renderer, "no chart renderer: bash scripts/tools.sh").toBeTruthy();
    docs = yamlDocs(renderer!.render(join(CHART, "ci/default-values.yaml")));
  });

  it("turn network policies on: the gateway admits only the ingress controller's namespace", () => {
    const gw = docs.find((d) => d.kind === "NetworkPolicy" && d.metadata.name === `${RELEASE}-gateway`)!;
    expect(gw).toBeTruthy();
    const onHttp = gw.spec.ingress.filter((r: Obj) => r.ports?.some((p: Obj) => p.port === "http"));
    const peers = onHttp.flatMap((r: Obj) => r.from ?? [{ anywhere: true }]);
    expect(peers).not.toContainEqual({ anywhere: true });
    expect(peers).toContainEqual({ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "ingress-nginx" } } });
  });
});

describe.each(ciFiles())("bind addresses (%s)", (file) => {
  it("every port that declares a hostEnv gets 0.0.0.0, and every gRPC port declares one", () => {
    expect(renderer, "no chart renderer: bash scripts/tools.sh").toBeTruthy();
    const values = valuesWith(file);
    const deployments = yamlDocs(renderer!.render(file)).filter((d) => d.kind === "Deployment");
    for (const d of deployments) {
      const name = d.metadata.labels["app.kubernetes.io/component"];
      const ports: Obj[] = [...(values.defaults.ports ?? []), ...(values.services[name].ports ?? [])];
      const env = Object.fromEntries(d.spec.template.spec.containers[0].env.map((e: Obj) => [e.name, e.value]));
      for (const p of ports) {
        if (p.name === "grpc") expect(p.hostEnv, `${name}:${p.name}`).toBeTruthy();
        if (p.hostEnv) expect(env[p.hostEnv], `${name} ${p.hostEnv}`).toBe("0.0.0.0");
      }
    }
  });
});


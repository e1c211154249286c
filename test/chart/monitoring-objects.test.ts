// What the chart renders for monitoring and queue-aware scaling: ServiceMonitors that scrape what the services serve, the PrometheusRule and
// dashboards equal to the shipped files, KEDA's ScaledObject on the queue the broker consumes.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { queueNames } from "../../services/broker/src/queue/names.js";
import { CHART, findRenderer, RELEASE, readYaml, ROOT, valuesWith, yamlDocs, type Obj } from "./lib.js";

const renderer = findRenderer();
const CI = (f: string) => join(CHART, "ci", f);
const render = (file: string) => yamlDocs(renderer!.render(file));

describe("chart defaults (ci/default-values.yaml)", () => {
  let docs: Obj[] = [];
  beforeAll(() => {
    expect(renderer, "no chart renderer: bash scripts/tools.sh").toBeTruthy();
    docs = render(CI("default-values.yaml"));
  });

  it("render no monitoring or KEDA objects", () => {
    expect(docs.filter((d) => ["ServiceMonitor", "PrometheusRule", "ScaledObject"].includes(d.kind))).toEqual([]);
    expect(docs.filter((d) => d.kind === "ConfigMap" && d.metadata.labels?.grafana_dashboard)).toEqual([]);
  });
});

describe("monitoring and KEDA on (ci/monitoring-values.yaml)", () => {
  const values = valuesWith(CI("monitoring-values.yaml"));
  let docs: Obj[] = [];
  const of = (kind: string) => docs.filter((d) => d.kind === kind);
  const named = (kind: string, name: string) => docs.find((d) => d.kind === kind && d.metadata.name === name);
  beforeAll(() => {
    expect(renderer, "no chart renderer: bash scripts/tools.sh").toBeTruthy();
    docs = render(CI("monitoring-values.yaml"));
  });

  it("has a ServiceMonitor per service on the port that serves /metrics, labelling series service=<name>", () => {
    const monitors = of("ServiceMonitor");
    expect(monitors.map((m) => m.metadata.name).sort()).toEqual(["broker", "gateway", "store"].map((n) => `${RELEASE}-${n}`));
    for (const m of monitors) {
      const component = m.metadata.labels["app.kubernetes.io/component"];
      expect(m.metadata.labels.release).toBe("kube-prometheus-stack");
      const svc = named("Service", m.metadata.name)!;
      expect(m.spec.selector.matchLabels).toEqual(Object.fromEntries(Object.entries(svc.metadata.labels).filter(([k]) => k in m.spec.selector.matchLabels)));
      const [ep] = m.spec.endpoints;
      // The store and broker serve metrics on their own port (METRICS_PORT); the gateway on http.
      expect(ep.port).toBe(component === "gateway" ? "http" : "metrics");
      expect(svc.spec.ports.map((p: Obj) => p.name)).toContain(ep.port);
      expect(ep.path).toBe("/metrics");
      expect(ep.honorLabels).toBe(true);
      expect(ep.relabelings).toContainEqual({ targetLabel: "service", replacement: component });
      // Prometheus (in the monitoring namespace) may reach that port through the network policy.
      const np = named("NetworkPolicy", m.metadata.name)!;
      const admits = np.spec.ingress.filter((r: Obj) => r.ports?.some((p: Obj) => p.port === ep.port)).flatMap((r: Obj) => r.from ?? []);
      expect(admits, m.metadata.name).toContainEqual(values.networkPolicy.metricsFrom[0]);
    }
  });

  it("ships the rule file's groups unchanged as a PrometheusRule", () => {
    const [rule] = of("PrometheusRule");
    expect(rule.metadata.labels.release).toBe("kube-prometheus-stack");
    expect(rule.spec.groups).toEqual(readYaml(join(CHART, "files/prometheus/rules.yaml")).groups);
  });

  it("ships each dashboard unchanged in a ConfigMap the Grafana sidecar picks up", () => {
    const maps = of("ConfigMap").filter((c) => c.metadata.labels?.grafana_dashboard === "1");
    expect(maps.map((c) => Object.keys(c.data)[0]).sort()).toEqual(["sker-broker.json", "sker-gateway.json", "sker-overview.json", "sker-store.json"]);
    for (const c of maps) {
      expect(c.metadata.namespace).toBe("monitoring");
      expect(c.metadata.annotations.grafana_folder).toBe("SKER");
      const [[file, json]] = Object.entries(c.data as Record<string, string>);
      expect(JSON.parse(json)).toEqual(JSON.parse(readFileSync(join(CHART, "files/grafana", file), "utf8")));
    }
  });

  it("scales the broker with KEDA on the queue it consumes, instead of its CPU HPA", () => {
    const [so] = of("ScaledObject");
    const broker = `${RELEASE}-broker`;
    expect(so.spec.scaleTargetRef).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name: broker });
    expect([so.spec.minReplicaCount, so.spec.maxReplicaCount]).toEqual([2, 30]);
    const [trigger] = so.spec.triggers;
    expect(trigger.type).toBe("rabbitmq");
    expect(trigger.metadata.queueName).toBe(queueNames(values.config.queuePrefix, 1000, 60_000).taskQueue);
    expect(trigger.metadata).toMatchObject({ mode: "QueueLength", value: "10", hostFromEnv: "RABBITMQ_URL" });
    expect(named("HorizontalPodAutoscaler", broker)).toBeUndefined();
    expect(named("Deployment", broker)!.spec.replicas).toBeUndefined();
    // The gateway's autoscaling settings are untouched by KEDA.
    expect(Boolean(named("HorizontalPodAutoscaler", `${RELEASE}-gateway`))).toBe(Boolean(values.services.gateway.autoscaling?.enabled));
  });

  it("refuses KEDA settings that cannot work", () => {
    const bad = (f: string) => () => renderer!.render(join(ROOT, "test/chart/fixtures", f));
    expect(bad("keda-min-over-max-values.yaml")).toThrow(/keda.minReplicas \(5\) exceeds keda.maxReplicas \(2\)/);
    expect(bad("keda-no-broker-values.yaml")).toThrow(/keda.enabled scales services.broker, which is not an enabled service/);
  });
});


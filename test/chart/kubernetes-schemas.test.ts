// The manifests validate against the official Kubernetes schemas (kubernetes-models): k8s/
// always, and the chart rendered with every ci/ values file when a renderer exists — helm when
// it is on PATH (plus `helm lint --strict`), else test/chart/render (Go text/template + sprig)
// with the checks of lint --strict in lint.ts.
// Rendered output is also checked for what the schemas cannot see: labels and selectors,
// probes, security context, drain timing, and every caller address pointing at a Service.
import { readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import { ciFiles, findRenderer, k8sProblems, NAMESPACE, readYaml, RELEASE, ROOT, valuesWith, yamlDocs, type Obj } from "./lib.js";

const K8S = join(ROOT, "k8s");

describe("k8s/ dev dependencies", () => {
  const files = readdirSync(K8S).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml");
  const docs = files.flatMap((f) => yamlDocs(readFileSync(join(K8S, f), "utf8")));

  it("kustomization.yaml lists every manifest file, and only existing ones", () => {
    const k = readYaml(join(K8S, "kustomization.yaml"));
    expect(k.kind).toBe("Kustomization");
    expect([...k.resources].sort()).toEqual([...files].sort());
  });

  it("every manifest validates against the Kubernetes schemas", async () => {
    expect(docs.length).toBeGreaterThan(5);
    const problems = (await Promise.all(docs.map(k8sProblems))).flat();
    expect(problems).toEqual([]);
  });

  it("PostgreSQL, Redis and RabbitMQ run as StatefulSets with readiness and liveness probes", () => {
    const sets = docs.filter((d) => d.kind === "StatefulSet");
    expect(sets.map((s) => s.metadata.name).sort()).toEqual(["postgresql", "rabbitmq", "redis"]);
    for (const s of sets) {
      const c = s.spec.template.spec.containers[0];
      expect(c.readinessProbe, s.metadata.name).toBeTruthy();
      expect(c.livenessProbe, s.metadata.name).toBeTruthy();
      expect(c.resources?.requests, s.metadata.name).toBeTruthy();
      // Each StatefulSet names a governing Service that exists.
      expect(docs.some((d) => d.kind === "Service" && d.metadata.name === s.spec.serviceName), s.metadata.name).toBe(true);
    }
  });

  it("credentials come from Secrets, never literal env values", () => {
    const secrets = new Set(docs.filter((d) => d.kind === "Secret").map((d) => d.metadata.name));
    for (const s of docs.filter((d) => d.kind === "StatefulSet")) {
      for (const e of s.spec.template.spec.containers[0].env ?? []) {
        if (/PASS|SECRET|COOKIE/i.test(e.name)) {
          expect(e.valueFrom?.secretKeyRef?.name, `${s.metadata.name} ${e.name}`).toBeTruthy();
          expect(secrets.has(e.valueFrom.secretKeyRef.name)).toBe(true);
        }
      }
    }
  });

  it("creates the sker-secrets Secret the dev values point the chart at", () => {
    const s = docs.find((d) => d.kind === "Secret" && d.metadata.name === "sker-secrets");
    expect(Object.keys(s?.stringData ?? {}).sort()).toEqual(["DATABASE_URL", "JWT_SECRET", "RABBITMQ_URL", "REDIS_URL"]);
    expect(readYaml(join(ROOT, "charts/sker/ci/dev-values.yaml")).secret.name).toBe("sker-secrets");
  });
});

const renderer = findRenderer();

if (!renderer) {
  // Never a silent skip: scripts/tools.sh (run by make test) installs the stand-in's needs.
  it("renders the chart (needs helm on PATH, or go and Debian's sprig sources: bash scripts/tools.sh)", () => {
    expect.fail("no chart renderer: no helm on PATH and test/chart/render could not be built");
  });
} else {
  describe(`chart rendered by ${renderer.kind}`, () => {
    for (const file of ciFiles()) {
      describe(`ci/${basename(file)}`, () => {
        const values = valuesWith(file);
        let docs: Obj[] = [];
        let deployments: Obj[] = [];
        let config: Obj = {};
        const of = (kind: string) => docs.filter((d) => d.kind === kind);
        const named = (kind: string, name: string) => docs.find((d) => d.kind === kind && d.metadata?.name === name);
        const matches = (selector: Obj, labels: Obj) => Object.entries(selector).every(([k, v]) => labels?.[k] === v);
        // A render failure fails every test below (not the whole file at collection).
        beforeAll(() => {
          docs = yamlDocs(renderer.render(file));
          deployments = of("Deployment");
          config = of("ConfigMap")[0];
        });

        it(`passes helm lint --strict${renderer.kind === "helm" ? "" : " (its checks, in lint.ts)"}`, () => renderer.lint(file));

        it("validates against the Kubernetes schemas", async () => {
          const problems = (await Promise.all(docs.map(k8sProblems))).flat();
          expect(problems).toEqual([]);
        });

        it("renders one Deployment, Service and ServiceAccount per enabled service", () => {
          const enabled = Object.entries(values.services as Obj)
            .filter(([, s]) => (s as Obj).enabled !== false)
            .map(([n]) => `${RELEASE}-${n}`)
            .sort();
          expect(deployments.map((d) => d.metadata.name).sort()).toEqual(enabled);
          for (const name of enabled) {
            expect(named("Service", name), name).toBeTruthy();
            expect(named("ServiceAccount", name)?.automountServiceAccountToken, name).toBe(false);
          }
        });

        it("labels everything as part of sker, and selectors match pod labels", () => {
          for (const d of docs) expect(d.metadata.labels?.["app.kubernetes.io/part-of"], `${d.kind}/${d.metadata.name}`).toBe("sker");
          for (const d of deployments) {
            const podLabels = d.spec.template.metadata.labels;
            expect(matches(d.spec.selector.matchLabels, podLabels), d.metadata.name).toBe(true);
            const svc = named("Service", d.metadata.name)!;
            expect(isDeepStrictEqual(svc.spec.selector, d.spec.selector.matchLabels), d.metadata.name).toBe(true);
            for (const p of svc.spec.ports) {
              expect(p.appProtocol, `${svc.metadata.name}:${p.name}`).toBeTruthy();
              expect(d.spec.template.spec.containers[0].ports.map((cp: Obj) => cp.name), p.name).toContain(p.targetPort);
            }
            // No other Deployment's pods are selected by this Service.
            expect(deployments.filter((o) => matches(svc.spec.selector, o.spec.template.metadata.labels)).length).toBe(1);
          }
          for (const pdb of of("PodDisruptionBudget"))
            expect(deployments.filter((d) => matches(pdb.spec.selector.matchLabels, d.spec.template.metadata.labels)).length, pdb.metadata.name).toBe(1);
        });

        it("probes every container; liveness differs from readiness; gRPC readiness names a service", () => {
          for (const d of deployments) {
            const c = d.spec.template.spec.containers[0];
            for (const p of ["startupProbe", "livenessProbe", "readinessProbe"]) expect(c[p], `${d.metadata.name} ${p}`).toBeTruthy();
            expect(isDeepStrictEqual(c.livenessProbe, c.readinessProbe), d.metadata.name).toBe(false);
            if (c.readinessProbe.grpc) {
              expect(c.readinessProbe.grpc.service, d.metadata.name).toBeTruthy();
              // Draining turns every gRPC health name NOT_SERVING: liveness must not ask gRPC health.
              expect(c.livenessProbe.grpc, d.metadata.name).toBeUndefined();
            }
          }
        });

        it("drains inside the grace period, and liveness cannot cut the drain short", () => {
          const shutdownS = Number(config.data.SHUTDOWN_TIMEOUT_MS) / 1000;
          for (const d of deployments) {
            const spec = d.spec.template.spec;
            const c = spec.containers[0];
            const preStop = c.lifecycle.preStop.sleep.seconds;
            expect(preStop, d.metadata.name).toBeGreaterThan(0);
            expect(spec.terminationGracePeriodSeconds, d.metadata.name).toBeGreaterThan(preStop + shutdownS);
            expect(c.livenessProbe.periodSeconds * c.livenessProbe.failureThreshold).toBeGreaterThanOrEqual(spec.terminationGracePeriodSeconds);
          }
        });

        it("runs every pod under the restricted security profile with a writable /tmp only", () => {
          const pods = [
            ...deployments.map((d) => ({ name: d.metadata.name, spec: d.spec.template.spec })),
            ...of("Job").map((j) => ({ name: j.metadata.name, spec: j.spec.template.spec })),
            ...of("Pod").map((p) => ({ name: p.metadata.name, spec: p.spec })),
          ];
          expect(pods.length).toBeGreaterThanOrEqual(deployments.length + 1);
          for (const { name, spec } of pods) {
            expect(spec.securityContext.runAsNonRoot, name).toBe(true);
            expect(spec.securityContext.seccompProfile.type, name).toBe("RuntimeDefault");
            expect(spec.automountServiceAccountToken, name).toBe(false);
            for (const c of spec.containers) {
              expect(c.securityContext.allowPrivilegeEscalation, name).toBe(false);
              expect(c.securityContext.readOnlyRootFilesystem, name).toBe(true);
              expect(c.securityContext.capabilities.drop, name).toEqual(["ALL"]);
              expect(c.resources.requests, name).toBeTruthy();
              expect(c.resources.limits?.memory, name).toBeTruthy();
            }
          }
          for (const d of deployments) {
            const c = d.spec.template.spec.containers[0];
            expect(c.volumeMounts.find((m: Obj) => m.mountPath === "/tmp"), d.metadata.name).toBeTruthy();
          }
        });

        it("points every caller address at a rendered headless Service port, dialled dns:/// (round_robin)", () => {
          let addresses = 0;
          for (const d of deployments) {
            for (const e of d.spec.template.spec.containers[0].env ?? []) {
              if (!e.name.endsWith("_ADDR")) continue;
              addresses++;
              const m = /^dns:\/\/\/([^.:]+)\.([^.:]+)\.svc\.[^:]+:(\d+)$/.exec(e.value);
              expect(m, `${d.metadata.name} ${e.name}=${e.value}`).toBeTruthy();
              const [, svcName, ns, port] = m!;
              expect(ns).toBe(NAMESPACE);
              const svc = named("Service", svcName);
              expect(svc, `${e.name} → ${svcName}`).toBeTruthy();
              expect(svc!.spec.clusterIP, `${svcName} must be headless for per-call balancing`).toBe("None");
              expect(svc!.spec.ports.map((p: Obj) => p.port)).toContain(Number(port));
              expect(deployments.some((o) => matches(svc!.spec.selector, o.spec.template.metadata.labels))).toBe(true);
            }
          }
          expect(addresses).toBeGreaterThanOrEqual(3);
        });

        it("lets the HPA (or KEDA's ScaledObject) own the replica count when autoscaling is on", () => {
          const scalers = [...of("HorizontalPodAutoscaler"), ...of("ScaledObject")];
          for (const s of scalers) {
            const target = named("Deployment", s.spec.scaleTargetRef.name);
            expect(target, s.metadata.name).toBeTruthy();
            expect(target!.spec.replicas, s.metadata.name).toBeUndefined();
          }
          // One scaler per Deployment at most: a ScaledObject replaces the HPA, never joins it.
          expect(new Set(scalers.map((s) => s.spec.scaleTargetRef.name)).size).toBe(scalers.length);
          for (const d of deployments)
            if (!scalers.some((s) => s.spec.scaleTargetRef.name === d.metadata.name)) expect(d.spec.replicas, d.metadata.name).toBeGreaterThanOrEqual(1);
        });

        it("wires the ConfigMap and Secret into every pod, with a config checksum", () => {
          const secretName = values.secret.name || `${RELEASE}-secrets`;
          for (const d of deployments) {
            const t = d.spec.template;
            expect(t.metadata.annotations["checksum/config"], d.metadata.name).toMatch(/^[0-9a-f]{64}$/);
            const from = t.spec.containers[0].envFrom;
            expect(from.map((f: Obj) => f.configMapRef?.name).filter(Boolean)).toEqual([config.metadata.name]);
            expect(from.map((f: Obj) => f.secretRef?.name).filter(Boolean)).toEqual([secretName]);
            if (values.secret.create) expect(t.metadata.annotations["checksum/secret"]).toMatch(/^[0-9a-f]{64}$/);
          }
          expect(config.data.NODE_ENV).toBe(values.config.nodeEnv);
          expect(config.data.TRUST_PROXY).toBe(String(values.config.trustProxy));
          if (values.secret.create) {
            const secret = named("Secret", secretName)!;
            expect(secret.metadata.annotations["helm.sh/hook"]).toMatch(/pre-install/);
          } else expect(named("Secret", secretName)).toBeUndefined();
        });

        it("runs migrations as a pre-install/pre-upgrade hook Job from the store image", () => {
          const job = of("Job")[0];
          expect(job.metadata.annotations["helm.sh/hook"]).toBe("pre-install,pre-upgrade");
          const c = job.spec.template.spec.containers[0];
          expect(c.args).toEqual(["dist/migrate.js"]);
          expect(c.image).toBe(named("Deployment", `${RELEASE}-store`)!.spec.template.spec.containers[0].image);
        });

        it("has a helm test pod that checks every service", () => {
          const pod = of("Pod").find((p) => p.metadata.annotations?.["helm.sh/hook"] === "test")!;
          const targets = JSON.parse(pod.spec.containers[0].env.find((e: Obj) => e.name === "SKER_HEALTH_TARGETS").value);
          expect(targets.map((t: Obj) => `${RELEASE}-${t.name}`).sort()).toEqual(deployments.map((d) => d.metadata.name).sort());
        });

        it("exports telemetry settings only when telemetry is on", () => {
          expect(Boolean(config.data.OTEL_EXPORTER_OTLP_ENDPOINT)).toBe(values.telemetry.enabled);
          for (const d of deployments) {
            const names = (d.spec.template.spec.containers[0].env ?? []).map((e: Obj) => e.name);
            expect(names.includes("OTEL_SERVICE_NAME"), d.metadata.name).toBe(values.telemetry.enabled);
          }
        });

        it("renders the Ingress for the public service with WebSocket timeouts, when enabled", () => {
          const ing = of("Ingress");
          expect(ing.length).toBe(values.ingress.enabled ? 1 : 0);
          if (!ing.length) return;
          const backend = ing[0].spec.rules[0].http.paths[0].backend.service;
          const svc = named("Service", backend.name)!;
          expect(svc.spec.ports.map((p: Obj) => p.name)).toContain(backend.port.name);
          expect(Number(ing[0].metadata.annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"])).toBeGreaterThanOrEqual(3600);
        });

        it("with network policies on: default deny, each service open only to its callers", () => {
          const policies = of("NetworkPolicy");
          if (!values.networkPolicy.enabled) return expect(policies).toEqual([]);
          const deny = policies.find((p) => !p.spec.ingress && !p.spec.egress && p.spec.policyTypes.includes("Ingress"));
          expect(deny, "default deny").toBeTruthy();
          for (const d of deployments) {
            const labels = d.spec.template.metadata.labels;
            const own = policies.find((p) => p.metadata.name === d.metadata.name)!;
            expect(matches(own.spec.podSelector.matchLabels, labels)).toBe(true);
            // Every egress allows DNS.
            expect(own.spec.egress.some((r: Obj) => r.ports?.some((p: Obj) => p.port === 53))).toBe(true);
            const component = labels["app.kubernetes.io/component"];
            const callers = Object.entries(values.services as Obj)
              .filter(([, s]) => ((s as Obj).calls ?? []).includes(component))
              .map(([n]) => n)
              .sort();
            const admitted = own.spec.ingress
              .flatMap((r: Obj) => r.from ?? [])
              .map((f: Obj) => f.podSelector?.matchLabels?.["app.kubernetes.io/component"])
              .filter((c: string | undefined) => c && c !== "test")
              .sort();
            expect(admitted, `${component} admits`).toEqual(callers);
          }
        });
      });
    }

    describe("refuses bad values at render time", () => {
      const render = (values: string) => {
        const file = join(ROOT, "test/chart/fixtures", values);
        return () => renderer.render(file);
      };
      it("a grace period shorter than the drain", () => {
        expect(render("short-grace-values.yaml")).toThrow(/terminationGracePeriodSeconds \(12\) must exceed/);
      });
      it("a call to a service that does not exist", () => {
        expect(render("unknown-callee-values.yaml")).toThrow(/services.gateway calls search, which is not an enabled service/);
      });
      it("a chart-made Secret without the JWT secret", () => {
        expect(render("secret-missing-jwt-values.yaml")).toThrow(/secret.data.JWT_SECRET is required when secret.create=true/);
      });
      it("telemetry without an endpoint", () => {
        expect(render("telemetry-no-endpoint-values.yaml")).toThrow(/telemetry.otlpEndpoint is required/);
      });
    });
  });
}

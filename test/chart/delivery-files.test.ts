// The images and the dev loop, checked by reading them (no Docker engine or skaffold here):
// the one Dockerfile, as each service's build args make it, is multi-stage, ends on a distroless
// Node 20 base as a non-root user with only production dependencies, and starts
// `node dist/main.js` in exec form; skaffold builds exactly those images and hands their names to
// the chart values that exist.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { chartValues, ROOT, yamlDocs, type Obj } from "./lib.js";

const SERVICES = ["gateway", "store", "broker"];

/** Instructions of a Dockerfile, continuation lines joined, comments dropped. */
function instructions(text: string): { op: string; args: string }[] {
  return text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => {
      const [op, ...rest] = l.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(" ") };
    });
}

const [skaffoldDeps, skaffoldApp] = yamlDocs(readFileSync(join(ROOT, "skaffold.yaml"), "utf8"));

/** The Dockerfile skaffold builds a service's image from, with `${ARG}`s as its build args (or the ARG defaults) set them. */
function dockerfileFor(svc: string): { op: string; args: string }[] {
  const artifact = (skaffoldApp.build.artifacts as Obj[]).find((a) => a.image === `sker-${svc}`);
  const raw = instructions(readFileSync(join(ROOT, artifact.context, artifact.docker.dockerfile), "utf8"));
  const defaults = Object.fromEntries(raw.filter((i) => i.op === "ARG").map((i) => [i.args.split("=")[0], i.args.split("=")[1] ?? ""]));
  const values: Record<string, string> = { ...defaults, ...artifact.docker.buildArgs };
  return raw.map((i) => ({ op: i.op, args: i.args.replace(/\$\{(\w+)\}/g, (_, a: string) => values[a] ?? "") }));
}

describe("Dockerfile", () => {
  it("is the one file all three images build from, each naming its service", () => {
    const artifacts = skaffoldApp.build.artifacts as Obj[];
    expect(new Set(artifacts.map((a) => a.docker.dockerfile))).toEqual(new Set(["Dockerfile"]));
    for (const svc of SERVICES) expect(artifacts.find((a) => a.image === `sker-${svc}`)?.docker.buildArgs?.SERVICE).toBe(svc);
    for (const svc of SERVICES) expect(existsSync(join(ROOT, "services", svc, "Dockerfile")), svc).toBe(false);
  });
});

describe.each(SERVICES)("Dockerfile with SERVICE=%s", (svc) => {
  const ins = dockerfileFor(svc);
  const stages = ins.filter((i) => i.op === "FROM");
  const finalIdx = ins.lastIndexOf(stages[stages.length - 1]);
  const final = ins.slice(finalIdx);
  const args = Object.fromEntries(ins.filter((i) => i.op === "ARG").map((i) => i.args.split("=")));

  it("is multi-stage and ends on a distroless Node 20 image", () => {
    expect(stages.length).toBeGreaterThanOrEqual(3);
    const base = final[0].args;
    expect(base).toMatch(/^gcr\.io\/distroless\/nodejs20-debian12:nonroot$/);
    expect(args.NODE_IMAGE).toMatch(/^node:20-.*slim$/);
  });

  it("copies only production dependencies of its own workspace into the final stage", () => {
    const deps = ins.find((i) => i.op === "RUN" && /npm ci --omit=dev/.test(i.args));
    expect(deps?.args).toContain(`--workspace services/${svc}`);
    const fromStages = final.filter((i) => i.op === "COPY" && i.args.startsWith("--from=")).map((i) => i.args.split(/\s+/)[0]);
    expect(new Set(fromStages)).toEqual(new Set(["--from=deps", "--from=build"]));
    const nodeModules = final.filter((i) => i.op === "COPY" && /node_modules/.test(i.args));
    expect(nodeModules.every((i) => i.args.startsWith("--from=deps"))).toBe(true);
    expect(final.some((i) => i.op === "RUN")).toBe(false);
  });

  it("builds with tsc for its package and runs as a non-root user", () => {
    expect(ins.some((i) => i.op === "RUN" && i.args.includes(`npx tsc --build services/${svc}`))).toBe(true);
    const user = final.filter((i) => i.op === "USER").pop();
    expect(user?.args).toMatch(/^[1-9]\d*(:[1-9]\d*)?$/);
  });

  it("starts node dist/main.js in exec form (signals reach node), never npm start", () => {
    const text = final.map((i) => `${i.op} ${i.args}`).join("\n");
    expect(text).not.toMatch(/npm (start|run)/);
    expect(final.find((i) => i.op === "ENTRYPOINT")?.args).toBe('["/nodejs/bin/node"]');
    const cmd = JSON.parse(final.find((i) => i.op === "CMD")!.args) as string[];
    expect(cmd.at(-1)).toBe("dist/main.js");
    // The V8 flags before it are the ones `make up` starts every service with.
    const upFlags = /^NODE_FLAGS=\((.*)\)$/m.exec(readFileSync(join(ROOT, "scripts/up.sh"), "utf8"))?.[1].split(/\s+/);
    expect(upFlags).toBeDefined();
    expect(cmd.slice(0, -1)).toEqual(upFlags);
    expect(final.find((i) => i.op === "WORKDIR")?.args).toBe(`/app/services/${svc}`);
  });

  it("exposes the ports the chart declares for it", () => {
    const exposed = (final.find((i) => i.op === "EXPOSE")?.args ?? "").split(/\s+/).map(Number).sort();
    const ports = (chartValues().services[svc].ports as Obj[]).map((p) => p.port).sort();
    expect(exposed).toEqual(ports);
  });
});

describe(".dockerignore", () => {
  const lines = readFileSync(join(ROOT, ".dockerignore"), "utf8").split("\n").map((l) => l.trim());
  it("keeps host builds, installs and the git history out of the context", () => {
    for (const p of ["**/node_modules", "**/dist", "**/*.tsbuildinfo", ".git"]) expect(lines).toContain(p);
  });
  it("does not exclude what the builds copy", () => {
    for (const p of ["services", "package.json", "package-lock.json", "tsconfig.base.json", "**/src"]) expect(lines).not.toContain(p);
  });
});

describe("skaffold.yaml", () => {
  const [deps, app] = [skaffoldDeps, skaffoldApp];

  it("deploys k8s/ in a config the app config requires (dependencies first)", () => {
    expect(deps.manifests.kustomize.paths).toEqual(["k8s"]);
    expect(app.requires[0].configs).toEqual([deps.metadata.name]);
  });

  it("builds one image per service from its Dockerfile", () => {
    const artifacts = app.build.artifacts as Obj[];
    expect(artifacts.map((a) => a.image).sort()).toEqual(SERVICES.map((s) => `sker-${s}`).sort());
    for (const a of artifacts) expect(existsSync(join(ROOT, a.context, a.docker.dockerfile)), a.image).toBe(true);
  });

  it("deploys the chart with values files that exist and sets each service's image", () => {
    const rel = app.deploy.helm.releases[0];
    expect(existsSync(join(ROOT, rel.chartPath, "Chart.yaml"))).toBe(true);
    for (const f of rel.valuesFiles) expect(existsSync(join(ROOT, f)), f).toBe(true);
    const values = chartValues();
    for (const s of SERVICES) {
      expect(values.services[s], s).toBeTruthy();
      const key = `sker_${s}`;
      expect(rel.setValueTemplates[`services.${s}.image.repository`]).toBe(`{{.IMAGE_REPO_${key}}}`);
      expect(rel.setValueTemplates[`services.${s}.image.tag`]).toBe(`{{.IMAGE_TAG_${key}}}`);
    }
  });

  it("port-forwards the gateway and both gRPC ports", () => {
    const ports = (app.portForward as Obj[]).map((p) => p.localPort).sort();
    expect(ports).toEqual([3000, 3001, 3002]);
  });

  it("has dev and prod profiles that the dependency config follows", () => {
    expect((app.profiles as Obj[]).map((p) => p.name).sort()).toEqual(["dev", "prod"]);
    expect((app.profiles as Obj[]).find((p) => p.name === "dev").activation).toEqual([{ command: "dev" }]);
    expect((deps.profiles as Obj[]).map((p) => p.name)).toContain("prod");
    expect(app.requires[0].activeProfiles[0]).toEqual({ name: "prod", activatedBy: ["prod"] });
  });
});

// What the chart tests share: paths, YAML loading, helm's value coalescing, the renderers
// (helm when on PATH, else the Go text/template+sprig stand-in when Go can build it), and
// validation of manifests against the official Kubernetes schemas (kubernetes-models).
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments, parse } from "yaml";
import { lintProblems } from "./lint.js";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const CHART = join(ROOT, "charts/sker");
export const CI_DIR = join(CHART, "ci");

export type Obj = Record<string, any>;

export const readYaml = (path: string): Obj => (parse(readFileSync(path, "utf8")) ?? {}) as Obj;

/** Every YAML document in a text, empty ones dropped. */
export function yamlDocs(text: string): Obj[] {
  return parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length) throw new Error(d.errors.map((e) => e.message).join("; "));
      return d.toJS() as Obj | null;
    })
    .filter((d): d is Obj => d !== null && typeof d === "object");
}

export const ciFiles = (): string[] =>
  readdirSync(CI_DIR)
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map((f) => join(CI_DIR, f));

const isMap = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** Helm's merge of user values over the chart's: maps deep, the rest replaced, null deletes. */
export function coalesce(base: Obj, over: Obj): Obj {
  const out: Obj = structuredClone(base);
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete out[k];
    else if (isMap(v) && isMap(out[k])) out[k] = coalesce(out[k], v);
    else out[k] = structuredClone(v);
  }
  return out;
}

export const chartValues = (): Obj => readYaml(join(CHART, "values.yaml"));
export const valuesWith = (file: string): Obj => coalesce(chartValues(), readYaml(file));

// ---------- rendering ----------

export interface Renderer {
  kind: "helm" | "go-sprig";
  /** Rendered manifests (hooks and tests included). Throws with helm's message on failure. */
  render(valuesFile?: string): string;
  /** `helm lint --strict`, or the same checks (lint.ts) with the stand-in; throws what it found. */
  lint: (valuesFile: string) => void;
}

const onPath = (bin: string) => spawnSync("sh", ["-c", `command -v ${bin}`]).status === 0;

function run(bin: string, args: string[]): string {
  const r = spawnSync(bin, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${bin} ${args.join(" ")} failed:\n${r.stderr || r.stdout}`);
  return r.stdout;
}

export const RELEASE = "sker";
export const NAMESPACE = "sker-test";
const KUBE_VERSION = "1.31.0";

let cached: Renderer | null | undefined;

/** helm if installed; else the Go stand-in in test/chart/render if Go and sprig can build it; else null. */
export function findRenderer(): Renderer | null {
  if (cached !== undefined) return cached;
  if (onPath("helm")) {
    cached = {
      kind: "helm",
      // A fixed cluster version: helm's default one may predate the chart's kubeVersion.
      render: (f) => run("helm", ["template", RELEASE, CHART, "--namespace", NAMESPACE, "--kube-version", KUBE_VERSION, ...(f ? ["-f", f] : [])]),
      lint: (f) => void run("helm", ["lint", "--strict", CHART, "--namespace", NAMESPACE, "--kube-version", KUBE_VERSION, "-f", f]),
    };
    return cached;
  }
  if (onPath("go")) {
    const bin = join(mkdtempSync(join(tmpdir(), "sker-render-")), "render");
    const gopath = process.env.GOPATH ?? "/usr/share/gocode";
    const built = spawnSync("go", ["build", "-o", bin, "."], {
      cwd: join(ROOT, "test/chart/render"),
      env: { ...process.env, GO111MODULE: "off", GOPATH: gopath, GOFLAGS: "" },
      encoding: "utf8",
    });
    if (built.status === 0 && existsSync(bin)) {
      cached = {
        kind: "go-sprig",
        render: (f) => run(bin, ["-name", RELEASE, "-namespace", NAMESPACE, ...(f ? ["-f", f] : []), CHART]),
        lint: (f) => {
          const problems = lintProblems(CHART, f);
          if (problems.length) throw new Error(`lint:\n${problems.join("\n")}`);
        },
      };
      return cached;
    }
  }
  cached = null;
  return cached;
}

// ---------- Kubernetes schemas ----------

const CRD_PACKAGES: Record<string, string> = {
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
  "keda.sh": "@kubernetes-models/keda",
};

/** Validates one manifest against the official schema of its apiVersion/kind; returns problems. */
export async function k8sProblems(doc: Obj): Promise<string[]> {
  const { apiVersion, kind } = doc;
  if (typeof apiVersion !== "string" || typeof kind !== "string") return ["missing apiVersion or kind"];
  // Core kinds live in kubernetes-models/v1, the others in kubernetes-models/<group>/<version>.
  let mod: Obj;
  try {
    // Custom resources the chart renders come from their own model packages.
    const group = apiVersion.split("/")[0];
    const pkg = CRD_PACKAGES[group] ?? "kubernetes-models";
    const specifier = `${pkg}/${apiVersion}`;
    mod = await import(/* @vite-ignore */ specifier);
  } catch {
    return [`unknown apiVersion ${apiVersion}`];
  }
  const Model = mod[kind];
  if (typeof Model !== "function") return [`unknown kind ${kind} in ${apiVersion}`];
  try {
    new Model(doc).validate();
    return [];
  } catch (err) {
    const errors = (err as { errors?: { instancePath: string; message: string }[] }).errors;
    return errors?.map((e) => `${kind}/${doc.metadata?.name}${e.instancePath}: ${e.message}`) ?? [String(err)];
  }
}

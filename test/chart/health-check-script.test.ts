// The `helm test` pod's script (charts/sker/files/health-check.cjs) against real servers: a
// grpc-js server with grpc.health.v1 and a plain HTTP server. It must pass only when every
// target is SERVING / 2xx, and fail (exit 1) for NOT_SERVING, unknown names, 503 and refusals.
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHART, ROOT } from "./lib.js";

const SCRIPT = join(CHART, "files/health-check.cjs");

function runScript(targets: object[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    // As in the pod: `node -e <script>` from a directory whose node_modules has @grpc/grpc-js.
    const child = spawn(process.execPath, ["-e", readFileSync(SCRIPT, "utf8")], {
      cwd: ROOT,
      env: { ...process.env, SKER_HEALTH_TARGETS: JSON.stringify(targets) },
    });
    let out = "";
    child.stdout.on("data", (b) => (out += b));
    child.stderr.on("data", (b) => (out += b));
    child.on("close", (code) => resolve({ code, out }));
  });
}

describe("helm test health-check script", () => {
  let grpc: Server;
  let grpcAddr = "";
  let http: HttpServer;
  let httpBase = "";
  const health = new HealthImplementation({ "": "SERVING", "sker.store.v1.NodeService": "SERVING", "sker.draining.v1.X": "NOT_SERVING" });

  beforeAll(async () => {
    grpc = new Server();
    health.addToServer(grpc);
    const port = await new Promise<number>((res, rej) =>
      grpc.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
    );
    grpcAddr = `dns:///127.0.0.1:${port}`;
    http = createServer((req, res) => res.writeHead(req.url === "/ready" ? 200 : 503).end());
    await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
    httpBase = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    grpc.forceShutdown();
    await new Promise((r) => http.close(r));
  });

  it("passes when every gRPC and HTTP target is ready", async () => {
    const r = await runScript([
      { name: "store", kind: "grpc", address: grpcAddr, service: "sker.store.v1.NodeService" },
      { name: "any", kind: "grpc", address: grpcAddr, service: "" },
      { name: "gateway", kind: "http", url: `${httpBase}/ready` },
    ]);
    expect(r.out).toMatch(/store: SERVING[\s\S]*gateway: SERVING/);
    expect(r.code).toBe(0);
  });

  it("fails for a NOT_SERVING service", async () => {
    const r = await runScript([{ name: "draining", kind: "grpc", address: grpcAddr, service: "sker.draining.v1.X" }]);
    expect(r.out).toMatch(/draining: status 2/);
    expect(r.code).toBe(1);
  });

  it("fails for a service name the server does not know", async () => {
    const r = await runScript([{ name: "unknown", kind: "grpc", address: grpcAddr, service: "sker.nope.v1.Nope" }]);
    expect(r.out).toMatch(/unknown: error 5/);
    expect(r.code).toBe(1);
  });

  it("fails for an HTTP 503 and for a refused connection", async () => {
    const r = await runScript([
      { name: "gateway", kind: "http", url: `${httpBase}/health-503` },
      { name: "gone", kind: "grpc", address: "dns:///127.0.0.1:1", service: "" },
    ]);
    expect(r.out).toMatch(/gateway: HTTP 503/);
    expect(r.out).toMatch(/gone: error 14/);
    expect(r.code).toBe(1);
  });

  it("fails when given no targets", async () => {
    const r = await runScript([]);
    expect(r.code).toBe(1);
  });
});

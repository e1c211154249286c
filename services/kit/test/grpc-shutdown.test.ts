import { describe, expect, it } from "vitest";
import { credentials, loadPackageDefinition, type Client, type GrpcObject, type ServiceClientConstructor, type ServiceError } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { protoPath } from "grpc-health-check";
import { fileURLToPath } from "node:url";
import { startEventServer, userToken } from "./support/grpc.js";

// Graceful shutdown as a load balancer and a caller see it: health turns NOT_SERVING while the
// listener still accepts, a call already running finishes, then new connections are refused.

const Health = (loadPackageDefinition(loadSync(protoPath, { enums: String })).grpc as GrpcObject as { health: { v1: { Health: ServiceClientConstructor } } }).health.v1.Health;

type HealthClient = Client & {
  check(req: { service: string }, cb: (err: ServiceError | null, res?: { status: string }) => void): void;
  watch(req: { service: string }): NodeJS.EventEmitter & { cancel(): void };
};

/** A fresh channel per check, like a probe: it also tells whether the listener still accepts. */
async function check(address: string, service = ""): Promise<string> {
  const client = new Health(address, credentials.createInsecure()) as unknown as HealthClient;
  try {
    return await new Promise<string>((resolve, reject) =>
      client.check({ service }, (err, res) => (err ? reject(err) : resolve(res!.status))),
    );
  } finally {
    client.close();
  }
}

function slowImpl(ms: number) {
  return {
    listEvents: async () => {
      await new Promise((r) => setTimeout(r, ms));
      return { events: [], latestSeq: 42, prunedSeq: 0 };
    },
  };
}

describe("graceful shutdown", () => {
  it("reports NOT_SERVING before the listener closes, finishes an in-flight call, then refuses connections", async () => {
    const server = await startEventServer(slowImpl(900), { drainDelayMs: 400 });
    expect(await check(server.address)).toBe("SERVING");
    expect(await check(server.address, "sker.store.v1.EventService")).toBe("SERVING");

    const token = await userToken(server.kit);
    const inflight = server.client.listEvents({ projectId: "p", afterSeq: 0, limit: 1 }, { token });
    await new Promise((r) => setTimeout(r, 100)); // the call is now running on the server

    const started = Date.now();
    const closed = server.shutdown().then(() => Date.now() - started);

    // The drain window: a new connection still gets an answer, and the answer is NOT_SERVING.
    expect(await check(server.address)).toBe("NOT_SERVING");
    expect(await check(server.address, "sker.store.v1.EventService")).toBe("NOT_SERVING");

    const res = await inflight;
    expect(res.latestSeq).toBe(42);
    const elapsed = await closed;
    expect(elapsed).toBeGreaterThanOrEqual(390);

    const err = await check(server.address).then(
      () => undefined,
      (e: ServiceError) => e,
    );
    expect(err?.code).toBe(14); // UNAVAILABLE: nothing listens any more
    await server.close();
  });

  it("tells a watching client NOT_SERVING, then ends its stream rather than waiting for it", async () => {
    const server = await startEventServer(slowImpl(0), { shutdownTimeoutMs: 5_000 });
    const client = new Health(server.address, credentials.createInsecure()) as unknown as HealthClient;
    const statuses: string[] = [];
    let ended = false;
    const stream = client.watch({ service: "" });
    stream.on("data", (r: { status: string }) => statuses.push(r.status));
    stream.on("status", () => (ended = true));
    stream.on("error", () => undefined);
    await expect.poll(() => statuses).toEqual(["SERVING"]);
    const started = Date.now();
    await server.shutdown();
    // An open Watch stream must not hold shutdown up to its 5 s bound.
    expect(Date.now() - started).toBeLessThan(1_000);
    await expect.poll(() => statuses).toEqual(["SERVING", "NOT_SERVING"]);
    await expect.poll(() => ended).toBe(true);
    client.close();
    await server.close();
  });

  it("ends an open reflection stream on shutdown rather than waiting for it", async () => {
    const server = await startEventServer(slowImpl(0), { shutdownTimeoutMs: 5_000 });
    const pkg = loadSync("grpc/reflection/v1/reflection.proto", { includeDirs: [fileURLToPath(new URL("../proto", import.meta.url))], oneofs: true });
    const Reflection = (loadPackageDefinition(pkg) as unknown as { grpc: { reflection: { v1: { ServerReflection: ServiceClientConstructor } } } }).grpc.reflection.v1.ServerReflection;
    const client = new Reflection(server.address, credentials.createInsecure()) as unknown as Client & { serverReflectionInfo(): NodeJS.EventEmitter & { write(r: object): void } };
    const stream = client.serverReflectionInfo();
    const answers: unknown[] = [];
    stream.on("data", (r) => answers.push(r));
    stream.on("error", () => undefined);
    stream.write({ listServices: "" });
    await expect.poll(() => answers.length).toBe(1);
    const started = Date.now();
    await server.shutdown();
    expect(Date.now() - started).toBeLessThan(1_000);
    client.close();
    await server.close();
  });

  it("cancels calls still running when the shutdown bound is reached", async () => {
    const server = await startEventServer(slowImpl(5_000), { shutdownTimeoutMs: 300 });
    const token = await userToken(server.kit);
    const inflight = server.client.listEvents({ projectId: "p", afterSeq: 0, limit: 1 }, { token }).then(
      () => "completed",
      (e: { code: string }) => e.code,
    );
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    await server.shutdown();
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(await inflight).toBe("UNAVAILABLE");
    await server.close();
  });
});

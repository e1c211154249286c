// What the README's grpcurl lines do, against the separately started store and broker: list and
// describe through reflection without a token; calls refused without one, answered with one.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { status } from "@grpc/grpc-js";
import { grpcurl } from "@sker/testkit/grpcurl";
import { client, register } from "@sker/testkit/http";
import { startMesh, type Mesh } from "./support/processes.js";

describe("grpcurl against store and broker (separate processes)", () => {
  let mesh: Mesh;
  let store: ReturnType<typeof grpcurl>;
  let broker: ReturnType<typeof grpcurl>;
  let token: string;
  let nodeId: string;

  beforeAll(async () => {
    mesh = await startMesh("separate");
    store = grpcurl(mesh.storeAddr);
    broker = grpcurl(mesh.brokerAddr);
    const req = client(mesh.url);
    const user = await register(req, "grpcurl");
    token = user.accessToken;
    const project = await req("POST", "/api/v1/projects", { token, body: { name: "Reflection" } });
    const node = await req("POST", "/api/v1/nodes", { token, body: { projectId: project.body.data.id, title: "Seen over gRPC" } });
    nodeId = node.body.data.id;
  }, 150_000);

  afterAll(async () => {
    store?.close();
    broker?.close();
    await mesh?.stop();
  }, 60_000);

  it("lists and describes without a token", async () => {
    expect(await store.list()).toEqual(expect.arrayContaining(["sker.store.v1.NodeService", "sker.store.v1.UserService", "grpc.health.v1.Health"]));
    expect(await broker.list()).toEqual(expect.arrayContaining(["sker.broker.v1.BrokerService", "grpc.health.v1.Health"]));
    expect(await store.describe("sker.store.v1.NodeService")).toEqual(expect.arrayContaining(["GetNode", "UpdateNode", "ListNodeVersions"]));
    expect(await broker.describe("sker.broker.v1.BrokerService")).toEqual(expect.arrayContaining(["SubmitTask", "CancelTask", "GetQueueStats"]));
  });

  it("answers health checks without a token", async () => {
    expect(await store.call("grpc.health.v1.Health/Check", { service: "sker.store.v1.NodeService" })).toEqual({ status: "SERVING" });
    expect(await broker.call("grpc.health.v1.Health/Check", {})).toEqual({ status: "SERVING" });
  });

  it("refuses a call without a token: UNAUTHENTICATED", async () => {
    await expect(store.call("sker.store.v1.NodeService/GetNode", { id: nodeId })).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
    await expect(broker.call("sker.broker.v1.BrokerService/GetTask", { id: nodeId })).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
  });

  it("answers a call with the user's token, JSON in and out", async () => {
    const res = (await store.call("sker.store.v1.NodeService/GetNode", { id: nodeId }, token)) as { node: { title: string; version: number } };
    expect(res.node).toMatchObject({ title: "Seen over gRPC", version: 1 });
  });

  it("still enforces roles: queue stats are for admins only", async () => {
    await expect(broker.call("sker.broker.v1.BrokerService/GetQueueStats", {}, token)).rejects.toMatchObject({ code: status.PERMISSION_DENIED });
  });
});

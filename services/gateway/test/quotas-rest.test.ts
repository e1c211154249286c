// What a REST client sees at a quota: 403 QUOTA_EXCEEDED with {quota, limit, used} in details,
// and nothing written.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "@sker/testkit/stack";
import { client, register, type Req } from "@sker/testkit/http";

let stack: Stack;
let req: Req;

beforeAll(async () => {
  stack = await startStack({ withBroker: false, storeEnv: { QUOTA_API_KEYS_PER_USER: "1", QUOTA_NODES_PER_PROJECT: "2", QUOTA_PROJECTS_PER_USER: "1", QUOTA_BYTES_PER_PROJECT: "5000" } });
  req = client(stack.url);
}, 60_000);
afterAll(async () => stack?.close());

describe("quotas over REST", () => {
  it("projects, nodes, bytes and API keys past their quota answer 403 QUOTA_EXCEEDED with the limit", async () => {
    const { accessToken: token } = await register(req, "q");
    const project = await req("POST", "/api/v1/projects", { token, body: { name: "one" } });
    expect(project.status).toBe(201);
    const second = await req("POST", "/api/v1/projects", { token, body: { name: "two" } });
    expect(second.status).toBe(403);
    expect(second.body.error).toMatchObject({ code: "QUOTA_EXCEEDED", details: { quota: "projectsPerUser", limit: 1, used: 1 } });

    const projectId = project.body.data.id;
    expect((await req("POST", "/api/v1/nodes", { token, body: { projectId, title: "a" } })).status).toBe(201);
    const big = await req("POST", "/api/v1/nodes", { token, body: { projectId, title: "b", content: "x".repeat(6000) } });
    expect(big.status).toBe(403);
    expect(big.body.error).toMatchObject({ code: "QUOTA_EXCEEDED", details: { quota: "bytesPerProject", limit: 5000 } });
    expect((await req("POST", "/api/v1/nodes", { token, body: { projectId, title: "b" } })).status).toBe(201);
    const third = await req("POST", "/api/v1/nodes", { token, body: { projectId, title: "c" } });
    expect(third.status).toBe(403);
    expect(third.body.error).toMatchObject({ code: "QUOTA_EXCEEDED", details: { quota: "nodesPerProject", limit: 2, used: 2 } });
    expect((await req("GET", `/api/v1/nodes?projectId=${projectId}`, { token })).body.data.items).toHaveLength(2);

    expect((await req("POST", "/api/v1/api-keys", { token, body: { name: "k1" } })).status).toBe(201);
    const key = await req("POST", "/api/v1/api-keys", { token, body: { name: "k2" } });
    expect(key.status).toBe(403);
    expect(key.body.error).toMatchObject({ code: "QUOTA_EXCEEDED", details: { quota: "apiKeysPerUser", limit: 1, used: 1 } });
    expect((await req("GET", "/api/v1/api-keys", { token })).body.data.items).toHaveLength(1);
  });
});

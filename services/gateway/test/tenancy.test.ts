// Tenancy and identity: other users get 404 on everything of a project they are not in, viewers
// get 403 on writes, forged or stale tokens get 401.
import { SignJWT, UnsecuredJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "@sker/testkit/stack";
import { client, register, type Req } from "@sker/testkit/http";

let stack: Stack;
let req: Req;
let owner: Awaited<ReturnType<typeof register>>;
let stranger: Awaited<ReturnType<typeof register>>;
let viewer: Awaited<ReturnType<typeof register>>;
let ids: { project: string; node: string; node2: string; connection: string; task: string | undefined };

beforeAll(async () => {
  stack = await startStack();
  req = client(stack.url);
  [owner, stranger, viewer] = [await register(req, "own"), await register(req, "str"), await register(req, "vie")];
  const t = owner.accessToken;
  const project = (await req("POST", "/api/v1/projects", { token: t, body: { name: "Private" } })).body.data.id;
  const node = (await req("POST", "/api/v1/nodes", { token: t, body: { projectId: project, title: "secret" } })).body.data.id;
  const node2 = (await req("POST", "/api/v1/nodes", { token: t, body: { projectId: project, title: "secret2" } })).body.data.id;
  const connection = (await req("POST", "/api/v1/connections", { token: t, body: { projectId: project, sourceNodeId: node, targetNodeId: node2, type: "related" } })).body.data.id;
  const task = (await req("POST", "/api/v1/ai-tasks", { token: t, body: { projectId: project, type: "optimize", nodeId: node } })).body.data?.id;
  await req("PUT", `/api/v1/projects/${project}/members/${viewer.user.id}`, { token: t, body: { role: "viewer" } });
  ids = { project, node, node2, connection, task };
});
afterAll(async () => stack?.close());

describe("tenancy", () => {
  it("a non-member gets 404 on every route of the project, its nodes, connections, tasks, versions and members", async () => {
    const { project, node, node2, connection, task } = ids;
    const t = stranger.accessToken;
    const calls: [string, string, unknown?][] = [
      ["GET", `/api/v1/projects/${project}`],
      ["PATCH", `/api/v1/projects/${project}`, { name: "mine" }],
      ["DELETE", `/api/v1/projects/${project}`],
      ["GET", `/api/v1/projects/${project}/graph`],
      ["GET", `/api/v1/projects/${project}/members`],
      ["PUT", `/api/v1/projects/${project}/members/${stranger.user.id}`, { role: "owner" }],
      ["DELETE", `/api/v1/projects/${project}/members/${owner.user.id}`],
      ["GET", `/api/v1/nodes?projectId=${project}`],
      ["POST", "/api/v1/nodes", { projectId: project, title: "x" }],
      ["GET", `/api/v1/nodes/${node}`],
      ["PATCH", `/api/v1/nodes/${node}`, { title: "x" }],
      ["DELETE", `/api/v1/nodes/${node}`],
      ["POST", `/api/v1/nodes/${node}/restore`],
      ["GET", `/api/v1/nodes/${node}/versions`],
      ["POST", `/api/v1/nodes/${node}/rollback`, { version: 1 }],
      ["GET", `/api/v1/connections?projectId=${project}`],
      ["POST", "/api/v1/connections", { projectId: project, sourceNodeId: node2, targetNodeId: node, type: "related" }],
      ["GET", `/api/v1/connections/${connection}`],
      ["PATCH", `/api/v1/connections/${connection}`, { label: "x" }],
      ["DELETE", `/api/v1/connections/${connection}`],
      ["GET", `/api/v1/ai-tasks?projectId=${project}`],
      ["POST", "/api/v1/ai-tasks", { projectId: project, type: "generate", prompt: "x" }],
      ...(task ? ([["GET", `/api/v1/ai-tasks/${task}`], ["POST", `/api/v1/ai-tasks/${task}/cancel`]] as [string, string][]) : []),
    ];
    for (const [method, path, body] of calls) {
      const res = await req(method, path, { token: t, body });
      expect(res.status, `${method} ${path}: ${JSON.stringify(res.body)}`).toBe(404);
      expect(res.body.error.code).toBe("NOT_FOUND");
    }
    // And nothing changed for the owner.
    const g = await req("GET", `/api/v1/projects/${project}/graph`, { token: owner.accessToken });
    expect(g.body.data.nodes).toHaveLength(2);
    expect(g.body.data.connections).toHaveLength(1);
  });

  it("a viewer reads but gets 403 on writes", async () => {
    const { project, node, connection } = ids;
    const t = viewer.accessToken;
    expect((await req("GET", `/api/v1/projects/${project}/graph`, { token: t })).status).toBe(200);
    expect((await req("GET", `/api/v1/nodes/${node}`, { token: t })).status).toBe(200);
    const writes: [string, string, unknown?][] = [
      ["PATCH", `/api/v1/projects/${project}`, { name: "x" }],
      ["DELETE", `/api/v1/projects/${project}`],
      ["PUT", `/api/v1/projects/${project}/members/${stranger.user.id}`, { role: "viewer" }],
      ["POST", "/api/v1/nodes", { projectId: project, title: "x" }],
      ["PATCH", `/api/v1/nodes/${node}`, { title: "x" }],
      ["DELETE", `/api/v1/nodes/${node}`],
      ["POST", `/api/v1/nodes/${node}/rollback`, { version: 1 }],
      ["PATCH", `/api/v1/connections/${connection}`, { label: "x" }],
      ["DELETE", `/api/v1/connections/${connection}`],
      ["POST", "/api/v1/ai-tasks", { projectId: project, type: "generate", prompt: "x" }],
    ];
    for (const [method, path, body] of writes) {
      const res = await req(method, path, { token: t, body });
      expect(res.status, `${method} ${path}: ${JSON.stringify(res.body)}`).toBe(403);
      expect(res.body.error.code).toBe("FORBIDDEN");
    }
  });
});

describe("JWT attacks → 401", () => {
  const secret = () => new TextEncoder().encode(stack.env.JWT_SECRET);
  const claims = () => ({ typ: "access", email: owner.user.email, username: owner.user.username });
  const expect401 = async (token: string) => {
    const res = await req("GET", "/api/v1/projects", { token });
    expect(res.status, token).toBe(401);
    expect(res.body.error.code).toBe("UNAUTHENTICATED");
  };

  it("alg none", async () => {
    const token = new UnsecuredJWT(claims()).setSubject(owner.user.id).setIssuer("sker").setAudience("sker-api").setExpirationTime("5m").encode();
    await expect401(token);
  });
  it("a forged signature", async () => {
    const token = await new SignJWT(claims()).setProtectedHeader({ alg: "HS256" }).setSubject(owner.user.id).setIssuer("sker").setAudience("sker-api").setExpirationTime("5m").sign(new TextEncoder().encode("another-secret-that-is-long-enough-000000"));
    await expect401(token);
    const [h, , s] = owner.accessToken.split(".");
    const tampered = Buffer.from(JSON.stringify({ ...claims(), sub: stranger.user.id, iss: "sker", aud: "sker-api", exp: Math.floor(Date.now() / 1000) + 300 })).toString("base64url");
    await expect401(`${h}.${tampered}.${s}`);
  });
  it("expired", async () => {
    const token = await new SignJWT(claims()).setProtectedHeader({ alg: "HS256" }).setSubject(owner.user.id).setIssuer("sker").setAudience("sker-api").setIssuedAt(Math.floor(Date.now() / 1000) - 3600).setExpirationTime(Math.floor(Date.now() / 1000) - 60).sign(secret());
    await expect401(token);
  });
  it("wrong audience or issuer", async () => {
    await expect401(await new SignJWT(claims()).setProtectedHeader({ alg: "HS256" }).setSubject(owner.user.id).setIssuer("sker").setAudience("someone-else").setExpirationTime("5m").sign(secret()));
    await expect401(await new SignJWT(claims()).setProtectedHeader({ alg: "HS256" }).setSubject(owner.user.id).setIssuer("evil").setAudience("sker-api").setExpirationTime("5m").sign(secret()));
  });
  it("a service token is not a user token", async () => {
    const token = await new SignJWT({ typ: "service" }).setProtectedHeader({ alg: "HS256" }).setSubject("service:gateway").setIssuer("sker").setAudience("sker-api").setExpirationTime("5m").sign(secret());
    await expect401(token);
  });
  it("the token of a deleted user", async () => {
    const doomed = await register(req, "doom");
    expect((await req("GET", "/api/v1/projects", { token: doomed.accessToken })).status).toBe(200);
    expect((await req("DELETE", "/api/v1/users/me", { token: doomed.accessToken })).status).toBe(204);
    await expect401(doomed.accessToken);
  });
});

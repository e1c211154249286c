// What every route shares: the error envelope, request ids, body limits, docs, probes, metrics,
// security headers and CORS, and a quick 503 when a dependency is down.
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadGatewayConfig, startGateway } from "../src/start.js";
import { startStack, type Stack } from "@sker/testkit/stack";
import { client, register, type Req } from "@sker/testkit/http";
import { WsClient } from "@sker/testkit/ws";

let stack: Stack;
let req: Req;
let token: string;

beforeAll(async () => {
  stack = await startStack({ gatewayEnv: { CORS_ORIGINS: "https://app.example.com" } });
  req = client(stack.url);
  token = (await register(req)).accessToken;
});
afterAll(async () => stack?.close());

describe("error envelope", () => {
  it("unknown route → 404 in the envelope, with the request id echoed", async () => {
    const res = await req("GET", "/api/v1/nope", { headers: { "x-request-id": "req-abc-123" } });
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ success: false, error: { code: "NOT_FOUND" }, requestId: "req-abc-123" });
    expect(res.headers.get("x-request-id")).toBe("req-abc-123");
    const gen = await req("GET", "/health");
    expect(gen.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("malformed JSON → 400 INVALID_JSON; unknown field and wrong type → 400 VALIDATION_ERROR naming the field", async () => {
    const bad = await req("POST", "/api/v1/projects", { token, raw: '{"name": "x",' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("INVALID_JSON");
    const unknown = await req("POST", "/api/v1/projects", { token, body: { name: "x", colour: "red" } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatchObject({ code: "VALIDATION_ERROR", details: { field: "colour" } });
    const wrongType = await req("POST", "/api/v1/projects", { token, body: { name: 42 } });
    expect(wrongType.body.error).toMatchObject({ code: "VALIDATION_ERROR", details: { field: "name" } });
    const nested = await req("POST", "/api/v1/nodes", { token, body: { projectId: "00000000-0000-4000-8000-000000000000", position: { x: 1 } } });
    expect(nested.body.error.details.field).toBe("position.y");
    const proto = await req("POST", "/api/v1/projects", { token, raw: '{"name":"x","__proto__":{"admin":true}}' });
    expect(proto.status).toBe(400);
    const textBody = await req("POST", "/api/v1/projects", { token, raw: "name=x", headers: { "content-type": "text/plain" } });
    expect(textBody.status).toBe(400);
  });

  it("a body over 1 MiB → 413 PAYLOAD_TOO_LARGE", async () => {
    const res = await req("POST", "/api/v1/projects", { token, body: { name: "x", description: "a".repeat(1024 * 1024 + 10) } });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe("PAYLOAD_TOO_LARGE");
  });

  it("missing or malformed credentials → 401", async () => {
    for (const headers of [{}, { authorization: "Bearer" }, { authorization: "Basic abc" }, { authorization: "Bearer not.a.jwt" }]) {
      const res = await req("GET", "/api/v1/projects", { headers });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe("UNAUTHENTICATED");
    }
  });
});

describe("docs, probes, metrics, headers", () => {
  it("OpenAPI 3 document lists every REST route with its schemas; Swagger UI is served", async () => {
    const doc = await req("GET", "/api/docs/json");
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toMatch(/^3\./);
    const paths = Object.keys(doc.body.paths);
    for (const p of [
      "/api/v1/auth/register", "/api/v1/auth/login", "/api/v1/auth/refresh", "/api/v1/auth/logout", "/api/v1/users/me",
      "/api/v1/api-keys", "/api/v1/api-keys/{id}", "/api/v1/projects", "/api/v1/projects/{id}", "/api/v1/projects/{id}/graph",
      "/api/v1/projects/{id}/members", "/api/v1/projects/{id}/members/{userId}", "/api/v1/nodes", "/api/v1/nodes/{id}",
      "/api/v1/nodes/{id}/restore", "/api/v1/nodes/{id}/versions", "/api/v1/nodes/{id}/rollback", "/api/v1/connections",
      "/api/v1/connections/{id}", "/api/v1/ai-tasks", "/api/v1/ai-tasks/{id}", "/api/v1/ai-tasks/{id}/cancel",
      "/api/system/info", "/api/system/queues", "/api/system/dead-letters/{taskId}/replay", "/health", "/ready",
      "/api/v1/projects/{id}/invitations", "/api/v1/projects/{id}/invitations/{invitationId}", "/api/v1/invitations/accept",
      "/api/v1/users/me/password", "/api/v1/users/me/verify-email", "/api/v1/auth/password-reset", "/api/v1/auth/password-reset/confirm",
      "/api/v1/auth/verify-email", "/api/system/users", "/api/system/users/{id}/disable", "/api/system/users/{id}/enable",
    ])
      expect(paths, p).toContain(p);
    const create = doc.body.paths["/api/v1/nodes"].post;
    expect(create.requestBody.content["application/json"].schema.additionalProperties).toBe(false);
    expect(create.responses["201"]).toBeDefined();
    const ui = await fetch(`${stack.url}/api/docs`, { redirect: "follow" });
    expect(ui.status).toBe(200);
    expect(await ui.text()).toContain("swagger");
  });

  it("/health, /ready and /metrics", async () => {
    expect((await req("GET", "/health")).body).toEqual({ status: "ok" });
    const ready = await req("GET", "/ready");
    expect(ready.status).toBe(200);
    await req("GET", "/api/v1/projects", { token });
    const m = await fetch(`${stack.url}/metrics`).then((r) => r.text());
    expect(m).toMatch(/http_request_duration_seconds_bucket\{[^}]*route="\/api\/v1\/projects"[^}]*method="GET"[^}]*status="200"/);
    expect(m).toContain("ws_open_sockets");
    expect(m).toMatch(/grpc_client_handling_seconds_count\{[^}]*method="\/sker.store.v1.ProjectService\/ListProjects"/);
  });

  it("security headers, and CORS only for allowed origins", async () => {
    const res = await fetch(`${stack.url}/health`, { headers: { origin: "https://app.example.com" } });
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    // The same full set on every answer, API errors included (helmet's middleware is built once).
    for (const r of [res, await fetch(`${stack.url}/api/v1/nodes/x`), await fetch(`${stack.url}/api/docs/json`)]) {
      expect(r.headers.get("content-security-policy")).toBe(
        "default-src 'self';base-uri 'self';font-src 'self' https: data:;form-action 'self';frame-ancestors 'self';img-src 'self' data: validator.swagger.io;object-src 'none';script-src 'self' 'unsafe-inline';script-src-attr 'none';style-src 'self' 'unsafe-inline';upgrade-insecure-requests",
      );
      expect(r.headers.get("strict-transport-security")).toBe("max-age=31536000; includeSubDomains");
      expect(r.headers.get("x-frame-options")).toBe("SAMEORIGIN");
      expect(r.headers.get("cross-origin-opener-policy")).toBe("same-origin");
      expect(r.headers.get("referrer-policy")).toBe("no-referrer");
    }
    const evil = await fetch(`${stack.url}/health`, { headers: { origin: "https://evil.example.com" } });
    expect(evil.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("dependencies down", () => {
  it("a store that does not answer gives 503 UNAVAILABLE quickly, and /ready is 503", async () => {
    const gw = await startGateway(loadGatewayConfig({ ...stack.env, STORE_ADDR: "127.0.0.1:1", BROKER_ADDR: "127.0.0.1:1", GRPC_DEADLINE_MS: "1000" }));
    try {
      const r = client(`http://127.0.0.1:${gw.port}`);
      const started = Date.now();
      const res = await r("GET", "/api/v1/projects", { token });
      expect(res.status).toBe(503);
      expect(["UNAVAILABLE", "DEADLINE_EXCEEDED"]).toContain(res.body.error.code);
      expect(Date.now() - started).toBeLessThan(3000);
      const login = await r("POST", "/api/v1/auth/login", { body: { email: "a@example.com", password: "whatever1" } });
      expect(login.status).toBe(503);
      expect((await r("GET", "/ready")).status).toBe(503);
    } finally {
      await gw.shutdown();
    }
  });

  it("a submission answered 503 carries the Idempotency-Key it was tried with (its own when the client sent none), to ask again with", async () => {
    const gw = await startGateway(loadGatewayConfig({ ...stack.env, STORE_ADDR: "127.0.0.1:1", BROKER_ADDR: "127.0.0.1:1", GRPC_DEADLINE_MS: "300" }));
    try {
      const r = client(`http://127.0.0.1:${gw.port}`);
      const body = { projectId: "00000000-0000-4000-8000-000000000000", type: "generate", prompt: "x" };
      const own = await r("POST", "/api/v1/ai-tasks", { token, body });
      expect(own.status).toBe(503);
      expect(own.headers.get("idempotency-key")).toMatch(/^auto:[0-9a-f-]{36}$/);
      const theirs = await r("POST", "/api/v1/ai-tasks", { token, body, headers: { "idempotency-key": "mine-1" } });
      expect(theirs.status).toBe(503);
      expect(theirs.headers.get("idempotency-key")).toBe("mine-1");
    } finally {
      await gw.shutdown();
    }
  }, 30_000);

  it("a 503 tells the client a dependency is unavailable, not where it lives or why", async () => {
    const gw = await startGateway(loadGatewayConfig({ ...stack.env, STORE_ADDR: "127.0.0.1:1", BROKER_ADDR: "127.0.0.1:1", GRPC_DEADLINE_MS: "1000" }));
    const leaks = /127\.0\.0\.1|:1\b|ECONNREFUSED|connect|Deadline|remote_addr|No connection/i;
    try {
      const r = client(`http://127.0.0.1:${gw.port}`);
      for (const res of [
        await r("GET", "/api/v1/projects", { token }),
        await r("POST", "/api/v1/auth/login", { body: { email: "a@example.com", password: "whatever1" } }),
      ]) {
        expect(res.status).toBe(503);
        expect(JSON.stringify(res.body)).not.toMatch(leaks);
        expect(res.body.error.message).toMatch(/^a dependency (is unavailable|did not answer in time)$/);
        expect(res.body.requestId).toBeTruthy();
      }
      const ws = await WsClient.open(`http://127.0.0.1:${gw.port}`, token);
      try {
        await ws.next((f) => f.type === "authenticated");
        ws.send({ type: "subscribe", projectId: "00000000-0000-4000-8000-000000000000" });
        const err = await ws.next((f) => f.type === "error");
        expect(["UNAVAILABLE", "DEADLINE_EXCEEDED"]).toContain(err.code);
        ws.send({ type: "AI_GENERATE_REQUEST", requestId: "down", projectId: "00000000-0000-4000-8000-000000000000", prompt: "x" });
        const ai = await ws.next((f) => f.type === "AI_GENERATE_ERROR");
        expect(JSON.stringify([err, ai])).not.toMatch(leaks);
      } finally {
        ws.ws.terminate();
      }
    } finally {
      await gw.shutdown();
    }
  });

  it("shutdown finishes an in-flight request, then stops accepting", async () => {
    const gw = await startGateway(loadGatewayConfig(stack.env));
    const r = client(`http://127.0.0.1:${gw.port}`);
    expect((await r("GET", "/ready")).status).toBe(200);
    // Headers sent, body not yet: the request is in flight at the server when shutdown begins.
    const body = JSON.stringify({ name: "in flight" });
    const done = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const hr = request(
        { host: "127.0.0.1", port: gw.port, method: "POST", path: "/api/v1/projects", headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "content-length": Buffer.byteLength(body) } },
        (res) => {
          let text = "";
          res.on("data", (c) => (text += c));
          res.on("end", () => resolve({ status: res.statusCode!, text }));
        },
      );
      hr.on("error", reject);
      hr.write(body.slice(0, 5));
      setTimeout(() => {
        closing = gw.shutdown();
        setTimeout(() => hr.end(body.slice(5)), 100);
      }, 100);
    });
    let closing: Promise<void> | undefined;
    const res = await done;
    expect(res.status, res.text).toBe(201);
    await closing;
    await expect(fetch(`http://127.0.0.1:${gw.port}/health`)).rejects.toThrow();
  });

});

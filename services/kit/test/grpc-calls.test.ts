import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError, channelPool, promiseClient, serveMetrics, unauthenticated, type CallContext } from "@sker/kit";
import { EventServiceService, type ListEventsRequest } from "@sker/contracts/store/v1/event";
import { CreateNodeRequest, NodeServiceService } from "@sker/contracts/store/v1/node";
import { SignJWT } from "jose";
import { deadPort, settings, startEventServer, testKit, userToken } from "./support/grpc.js";

// What a caller of a kit-served RPC sees, over real sockets: authentication, the error table
// across the wire, deadlines, an unreachable server, and the metrics of the calls.

const seen: { ctx?: CallContext; aborted?: boolean } = {};
const kit = testKit(async (caller) => {
  if (caller.kind === "user" && caller.username === "deleted") throw unauthenticated("user no longer exists");
});

async function listEvents(req: ListEventsRequest, ctx: CallContext) {
  seen.ctx = ctx;
  switch (req.projectId) {
    case "conflict":
      throw new AppError("VERSION_CONFLICT", "node changed since version 3", { currentVersion: 7 });
    case "invalid":
      throw new AppError("VALIDATION_ERROR", "limit: must be 1..1000", { field: "limit" });
    case "boom":
      throw new Error("connection to postgres://admin:hunter2@db failed");
    case "slow":
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 3_000);
        ctx.signal.addEventListener("abort", () => {
          seen.aborted = true;
          clearTimeout(t);
          resolve();
        });
      });
      return { events: [], latestSeq: -1, prunedSeq: 0 };
    default:
      return { events: [{ projectId: req.projectId, seq: 1, name: ctx.caller.kind === "user" ? ctx.caller.username : ctx.caller.name, payload: { resource: { $case: "deleted", value: { id: "n1" } } } }], latestSeq: 1, prunedSeq: 0 };
  }
}

let server: Awaited<ReturnType<typeof startEventServer>>;
let token: string;
const req = (projectId: string): ListEventsRequest => ({ projectId, afterSeq: 0, limit: 10 });

beforeAll(async () => {
  server = await startEventServer({ listEvents }, { kit });
  token = await userToken(kit);
});
afterAll(() => server.close());

async function failure(p: Promise<unknown>): Promise<AppError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, "the call should have failed").toBeInstanceOf(AppError);
  return err as AppError;
}

const sign = (claims: Record<string, unknown>, opts: { secret?: string; audience?: string; expiresAt?: number } = {}) =>
  new SignJWT({ typ: "access", email: "ada@example.com", username: "ada", ...claims })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject("00000000-0000-4000-8000-000000000001")
    .setIssuer(settings.jwtIssuer)
    .setAudience(opts.audience ?? settings.jwtAudience)
    .setIssuedAt()
    .setExpirationTime(opts.expiresAt ?? Math.floor(Date.now() / 1000) + 60)
    .sign(new TextEncoder().encode(opts.secret ?? settings.jwtSecret));

describe("authentication", () => {
  it("answers a valid user token, with the caller and request id in the handler's context", async () => {
    const res = await server.client.listEvents(req("p1"), { token, requestId: "req-123" });
    expect(res.events[0]).toMatchObject({ projectId: "p1", seq: 1, name: "ada", payload: { resource: { $case: "deleted", value: { id: "n1" } } } });
    expect(seen.ctx?.requestId).toBe("req-123");
    expect(seen.ctx?.caller).toMatchObject({ kind: "user", userId: "00000000-0000-4000-8000-000000000001", email: "ada@example.com", username: "ada", tokenVersion: 0 });
    const caller = seen.ctx!.caller as { tokenId: string; expiresAt: number };
    // Every access token has its own id (what a logout puts on the deny-list) and its expiry.
    expect(caller.tokenId).toMatch(/^[0-9a-f-]{36}$/);
    expect(caller.expiresAt).toBeGreaterThan(Date.now());
  });

  it("accepts a service token as a service caller", async () => {
    const res = await server.client.listEvents(req("p1"), { token: await kit.tokens.service("broker") });
    expect(res.events[0].name).toBe("broker");
  });

  const rejected: [string, () => Promise<string>][] = [
    ["no token", async () => ""],
    ["a token signed with another secret", () => sign({}, { secret: "another-secret-another-secret-0123456789" })],
    ["an expired token", () => sign({}, { expiresAt: Math.floor(Date.now() / 1000) - 10 })],
    ["a token for another audience", () => sign({}, { audience: "someone-else" })],
    ["a refresh-typed token", () => sign({ typ: "refresh" })],
    [
      "an alg=none token",
      async () => {
        const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
        const now = Math.floor(Date.now() / 1000);
        return `${b64({ alg: "none", typ: "JWT" })}.${b64({ typ: "access", sub: "x", email: "a@b.c", iss: settings.jwtIssuer, aud: settings.jwtAudience, iat: now, exp: now + 60 })}.`;
      },
    ],
    ["garbage", async () => "not.a.jwt"],
  ];
  for (const [what, make] of rejected) {
    it(`rejects ${what} with UNAUTHENTICATED before the handler runs`, async () => {
      seen.ctx = undefined;
      const err = await failure(server.client.listEvents(req("p1"), { token: await make() }));
      expect(err.code).toBe("UNAUTHENTICATED");
      expect(err.httpStatus).toBe(401);
      expect(seen.ctx).toBeUndefined();
    });
  }

  it("runs the authorize hook: a deleted user's valid token is refused", async () => {
    const deleted = await kit.tokens.signAccess({ id: "00000000-0000-4000-8000-000000000002", email: "d@example.com", username: "deleted" }, 60);
    const err = await failure(server.client.listEvents(req("p1"), { token: deleted }));
    expect(err.code).toBe("UNAUTHENTICATED");
    expect(err.message).toBe("user no longer exists");
  });
});

describe("errors across the wire", () => {
  it("delivers an AppError with the same code, message and details", async () => {
    const err = await failure(server.client.listEvents(req("conflict"), { token }));
    expect(err.code).toBe("VERSION_CONFLICT");
    expect(err.message).toBe("node changed since version 3");
    expect(err.details).toEqual({ currentVersion: 7 });
    expect(err.httpStatus).toBe(409);
  });

  it("delivers a validation error naming the field", async () => {
    const err = await failure(server.client.listEvents(req("invalid"), { token }));
    expect(err).toMatchObject({ code: "VALIDATION_ERROR", details: { field: "limit" } });
    expect(err.httpStatus).toBe(400);
  });

  it("turns an unexpected throw into INTERNAL without leaking its message", async () => {
    const err = await failure(server.client.listEvents(req("boom"), { token }));
    expect(err.code).toBe("INTERNAL");
    expect(err.message).toBe("internal error");
    expect(JSON.stringify(err)).not.toContain("hunter2");
    expect(err.httpStatus).toBe(500);
  });
});

describe("deadlines and unreachable servers", () => {
  it("fails a call past its deadline with DEADLINE_EXCEEDED quickly, and aborts the handler's signal", async () => {
    seen.aborted = false;
    const started = Date.now();
    const err = await failure(server.client.listEvents(req("slow"), { token, deadlineMs: 150 }));
    expect(err.code).toBe("DEADLINE_EXCEEDED");
    expect(Date.now() - started).toBeLessThan(1_500);
    await expect.poll(() => seen.aborted, { timeout: 2_000 }).toBe(true);
  });

  it("cancels a call when the caller's signal aborts", async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const started = Date.now();
    const err = await failure(server.client.listEvents(req("slow"), { token, signal: ac.signal }));
    expect(err.code).toBe("UNAVAILABLE");
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it("answers UNAVAILABLE quickly when the server is down, after retrying a read", async () => {
    const pool = channelPool(`127.0.0.1:${await deadPort()}`, 1);
    const metrics = testKit().metrics;
    const started = Date.now();
    const err = await failure(promiseClient(EventServiceService, pool, { deadlineMs: 2_000, metrics }).listEvents(req("p1"), { token }));
    const elapsed = Date.now() - started;
    pool.close();
    expect(err.code).toBe("UNAVAILABLE");
    expect(err.httpStatus).toBe(503);
    expect(elapsed).toBeLessThan(2_000);
    const retries = await metrics.registry.getSingleMetric("grpc_client_retries_total")!.get();
    expect(retries.values.find((v) => v.labels.method === "/sker.store.v1.EventService/ListEvents")?.value).toBe(2);
  });

  it("does not retry a write against a server that is down", async () => {
    const pool = channelPool(`127.0.0.1:${await deadPort()}`, 1);
    const metrics = testKit().metrics;
    const createOnly = { createNode: NodeServiceService.createNode };
    const err = await failure(promiseClient(createOnly, pool, { deadlineMs: 2_000, metrics }).createNode(CreateNodeRequest.fromPartial({ projectId: "p1", title: "t" }), { token }));
    pool.close();
    expect(err.code).toBe("UNAVAILABLE");
    const retries = await metrics.registry.getSingleMetric("grpc_client_retries_total")!.get();
    expect(retries.values.filter((v) => v.value > 0)).toEqual([]);
  });
});

describe("metrics", () => {
  it("records each RPC by method and code on /metrics", async () => {
    await server.client.listEvents(req("p1"), { token });
    await failure(server.client.listEvents(req("conflict"), { token }));
    const http = await serveMetrics(kit.metrics, 0, "127.0.0.1");
    try {
      const { port } = http.address() as { port: number };
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(res.status).toBe(200);
      const text = await res.text();
      const count = (code: string, side: string) =>
        Number(new RegExp(`^grpc_${side}_handling_seconds_count\\{[^}]*method="/sker.store.v1.EventService/ListEvents",code="${code}"[^}]*\\} (\\d+)`, "m").exec(text)?.[1] ?? 0);
      expect(count("OK", "server")).toBeGreaterThanOrEqual(1);
      expect(count("ABORTED", "server")).toBeGreaterThanOrEqual(1);
      expect(count("UNAUTHENTICATED", "server")).toBeGreaterThanOrEqual(7);
      expect(count("OK", "client")).toBeGreaterThanOrEqual(1);
      expect(text).toContain('service="kit-test"');
    } finally {
      await new Promise((r) => http.close(r));
    }
  });
});

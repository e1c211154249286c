import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError, createLogger, type CallContext } from "@sker/kit";
import type { ListEventsRequest } from "@sker/contracts/store/v1/event";
import { startEventServer, testKit, userToken } from "./support/grpc.js";

// An error wrapped on its way up keeps what caused it: the server's log has it, the caller
// never does (not in the status, the trailers or the message). A typed reason does travel.

const lines: string[] = [];
const kit = { ...testKit(), log: createLogger("kit-test", "info", { write: (s: string) => void lines.push(s) }) };
const SECRET = "postgres://admin:hunter2@db:5432";

async function listEvents(req: ListEventsRequest, _ctx: CallContext) {
  if (req.projectId === "wrapped") throw new AppError("UNAVAILABLE", "the database is busy; retry", undefined, { cause: new Error(`connect ECONNREFUSED ${SECRET}`) });
  if (req.projectId === "expired") throw new AppError("UNAUTHENTICATED", "token expired", undefined, { reason: "TOKEN_EXPIRED" });
  throw new TypeError(`cannot read rows of ${SECRET}`);
}

let server: Awaited<ReturnType<typeof startEventServer>>;
beforeAll(async () => {
  server = await startEventServer({ listEvents }, { kit });
});
afterAll(() => server.close());

const req = (projectId: string): ListEventsRequest => ({ projectId, afterSeq: 0, limit: 1 });
const failure = (p: Promise<unknown>) => p.then(() => expect.fail("the call should have failed"), (e: unknown) => e as AppError);

/** Everything the caller holds of the error: message, own fields, the gRPC status and its trailers. */
function whatTheCallerSees(err: AppError): string {
  const status = err.cause as { details?: string; metadata?: { getMap(): object } };
  return [err.message, JSON.stringify(err), status?.details, JSON.stringify(status?.metadata?.getMap())].join("\n");
}

describe("an error's cause", () => {
  it("is logged by the server with the request id, and never reaches the caller", async () => {
    lines.length = 0;
    const err = await failure(server.client.listEvents(req("wrapped"), { token: await userToken(kit), requestId: "req-cause" }));
    expect(err).toMatchObject({ code: "UNAVAILABLE", message: "the database is busy; retry" });
    expect(whatTheCallerSees(err)).not.toContain("hunter2");
    const logged = lines.map((l) => JSON.parse(l) as { requestId?: string; err?: { message?: string; stack?: string } }).find((l) => l.requestId === "req-cause" && l.err);
    expect(logged?.err?.message ?? "").toContain("the database is busy; retry");
    expect(`${logged?.err?.message} ${logged?.err?.stack}`).toContain(SECRET);
  });

  it("of an unexpected throw is logged whole; the caller reads only 'internal error'", async () => {
    lines.length = 0;
    const err = await failure(server.client.listEvents(req("boom"), { token: await userToken(kit), requestId: "req-boom" }));
    expect(err).toMatchObject({ code: "INTERNAL", message: "internal error" });
    expect(whatTheCallerSees(err)).not.toContain("hunter2");
    expect(lines.join("\n")).toContain(SECRET);
  });

  it("is kept by the client: the AppError it throws wraps the gRPC status", async () => {
    const err = await failure(server.client.listEvents(req("wrapped"), { token: await userToken(kit) }));
    expect((err.cause as { code?: number }).code).toBe(14); // grpc UNAVAILABLE
  });
});

describe("a typed reason", () => {
  it("crosses the wire: TOKEN_EXPIRED is told apart from other UNAUTHENTICATED answers without reading the message", async () => {
    const expired = await failure(server.client.listEvents(req("expired"), { token: await userToken(kit) }));
    expect(expired).toMatchObject({ code: "UNAUTHENTICATED", reason: "TOKEN_EXPIRED" });
    const invalid = await failure(server.client.listEvents(req("x"), { token: "not.a.jwt" }));
    expect(invalid.code).toBe("UNAUTHENTICATED");
    expect(invalid.reason).toBeUndefined();
  });

  it("is what Tokens gives a well-signed token past its expiry, with jose's error as the cause", async () => {
    const token = await userToken(kit, 1);
    await new Promise((r) => setTimeout(r, 2_100));
    const err = await kit.tokens.verify(token).catch((e: unknown) => e as AppError);
    expect(err).toMatchObject({ code: "UNAUTHENTICATED", reason: "TOKEN_EXPIRED", message: "token expired" });
    expect((err.cause as Error).name).toBe("JWTExpired");
    const bad = await kit.tokens.verify(`${token}x`).catch((e: unknown) => e as AppError);
    expect(bad.reason).toBeUndefined();
  });
});

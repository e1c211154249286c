import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError, relayedBy, serviceOnly, type CallContext, type ClientInterceptor, type ServerInterceptor } from "@sker/kit";
import type { ListEventsRequest } from "@sker/contracts/store/v1/event";
import { startEventServer, testKit, userToken } from "./support/grpc.js";

// Interceptors a binding adds (guards, its own concerns) and a client adds, over real sockets:
// a guard written once on the binding refuses before the handler runs, exactly as the checks
// it replaced at the top of each handler did.

const kit = testKit();
const ran: string[] = [];
const seenByServer: { name?: string; caller?: string; header?: unknown }[] = [];

const recorder: ServerInterceptor = (next) => async (call) => {
  seenByServer.push({ name: call.name, caller: call.auth?.caller.kind, header: call.metadata.get("x-test")[0] });
  return next(call);
};
const tagging: ClientInterceptor = (next) => (call) => {
  call.metadata.set("x-test", `from-${call.name}`);
  return next(call);
};

async function listEvents(req: ListEventsRequest, ctx: CallContext) {
  ran.push(req.projectId);
  return { events: [{ projectId: req.projectId, seq: 1, name: ctx.via ?? (ctx.caller.kind === "user" ? ctx.caller.username : ctx.caller.name) }], latestSeq: 1, prunedSeq: 0 };
}

const req = (projectId: string): ListEventsRequest => ({ projectId, afterSeq: 0, limit: 10 });

async function failure(p: Promise<unknown>): Promise<AppError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, "the call should have failed").toBeInstanceOf(AppError);
  return err as AppError;
}

describe("a serviceOnly guard on a binding", () => {
  let server: Awaited<ReturnType<typeof startEventServer>>;
  beforeAll(async () => {
    server = await startEventServer({ listEvents }, { kit, own: { interceptors: [recorder], methods: { listEvents: [serviceOnly("broker")] } }, clientInterceptors: [tagging] });
  });
  afterAll(() => server.close());

  it("lets the named service's token through", async () => {
    const res = await server.client.listEvents(req("as-broker"), { token: await kit.tokens.service("broker") });
    expect(res.events[0].name).toBe("broker");
    expect(ran).toContain("as-broker");
  });

  it("refuses a user's token with UNAUTHENTICATED and another service's with FORBIDDEN, before the handler runs", async () => {
    const user = await failure(server.client.listEvents(req("as-user"), { token: await userToken(kit) }));
    expect(user).toMatchObject({ code: "UNAUTHENTICATED", message: "this call needs a service token" });
    const gateway = await failure(server.client.listEvents(req("as-gateway"), { token: await kit.tokens.service("gateway") }));
    expect(gateway).toMatchObject({ code: "FORBIDDEN", message: "only the broker makes this call" });
    expect(ran).not.toContain("as-user");
    expect(ran).not.toContain("as-gateway");
  });

  it("runs the binding's interceptors after authentication, with what a client interceptor sent", async () => {
    seenByServer.length = 0;
    await server.client.listEvents(req("seen"), { token: await kit.tokens.service("broker") });
    expect(seenByServer).toEqual([{ name: "listEvents", caller: "service", header: "from-listEvents" }]);
  });

  it("never reaches a binding interceptor without a valid token", async () => {
    seenByServer.length = 0;
    const err = await failure(server.client.listEvents(req("no-token"), { token: "not.a.jwt" }));
    expect(err.code).toBe("UNAUTHENTICATED");
    expect(seenByServer).toEqual([]);
  });
});

describe("a relayedBy guard on a binding", () => {
  let server: Awaited<ReturnType<typeof startEventServer>>;
  beforeAll(async () => {
    server = await startEventServer({ listEvents }, { kit, own: { methods: { listEvents: [relayedBy("broker")] } } });
  });
  afterAll(() => server.close());

  it("accepts a user's call the broker relays, as that user", async () => {
    const res = await server.client.listEvents(req("relayed"), { token: await kit.tokens.service("broker"), onBehalfOf: await userToken(kit) });
    expect(res.events[0].name).toBe("broker");
    expect(ran).toContain("relayed");
  });

  it("refuses the user's own token, the broker's alone, and a relay by another service", async () => {
    const user = await userToken(kit);
    for (const [tag, opts] of [
      ["direct", { token: user }],
      ["broker-alone", { token: await kit.tokens.service("broker") }],
      ["via-gateway", { token: await kit.tokens.service("gateway"), onBehalfOf: user }],
    ] as const) {
      const err = await failure(server.client.listEvents(req(tag), opts));
      expect(err).toMatchObject({ code: "FORBIDDEN", message: "only the broker makes this call, on a user's behalf" });
      expect(ran).not.toContain(tag);
    }
  });
});

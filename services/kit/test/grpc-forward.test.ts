import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError, forward, type CallContext } from "@sker/kit";
import type { ListEventsRequest } from "@sker/contracts/store/v1/event";
import { startEventServer, testKit, userToken } from "./support/grpc.js";

// forward(ctx) on a hop A → B, over real sockets: B gets the caller's token and request id,
// what is left of A's deadline, and A's cancellation.

const kit = testKit();
const seenByB: { deadline?: number; requestId?: string; username?: string; aborted?: string }[] = [];

let b: Awaited<ReturnType<typeof startEventServer>>;
let a: Awaited<ReturnType<typeof startEventServer>>;

async function serveB(req: ListEventsRequest, ctx: CallContext) {
  const seen: (typeof seenByB)[number] = { deadline: ctx.deadline, requestId: ctx.requestId, username: ctx.caller.kind === "user" ? ctx.caller.username : undefined };
  seenByB.push(seen);
  if (req.projectId === "wait") {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 5_000);
      ctx.signal.addEventListener("abort", () => {
        seen.aborted = (ctx.signal.reason as AppError).code;
        clearTimeout(t);
        resolve();
      });
    });
  }
  return { events: [], latestSeq: 0, prunedSeq: 0 };
}

beforeAll(async () => {
  b = await startEventServer({ listEvents: serveB }, { kit });
  a = await startEventServer({ listEvents: (req, ctx) => b.client.listEvents(req, forward(ctx)) }, { kit });
});
afterAll(async () => {
  await a.close();
  await b.close();
});

const req = (projectId: string): ListEventsRequest => ({ projectId, afterSeq: 0, limit: 1 });

describe("forward(ctx)", () => {
  it("hands the next hop the caller, the request id and what is left of the deadline", async () => {
    seenByB.length = 0;
    const sent = Date.now();
    await a.client.listEvents(req("quick"), { token: await userToken(kit), requestId: "req-fwd", deadlineMs: 3_000 });
    expect(seenByB).toHaveLength(1);
    expect(seenByB[0]).toMatchObject({ requestId: "req-fwd", username: "ada" });
    // B's deadline is A's, not B's client default of 5 s. gRPC sends a deadline as a timeout
    // from when the stream starts, so each hop's connection setup may stretch it a little.
    expect(seenByB[0].deadline).toBeGreaterThan(sent + 2_500);
    expect(seenByB[0].deadline).toBeLessThan(sent + 4_500);
  });

  it("aborts the next hop's work when the first caller's deadline passes", async () => {
    seenByB.length = 0;
    const err = await a.client.listEvents(req("wait"), { token: await userToken(kit), deadlineMs: 300 }).catch((e: unknown) => e as AppError);
    expect(err.code).toBe("DEADLINE_EXCEEDED");
    await expect.poll(() => seenByB[0]?.aborted, { timeout: 2_000 }).toBe("DEADLINE_EXCEEDED");
  });

  it("aborts the next hop's work when the first caller cancels", async () => {
    seenByB.length = 0;
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 200);
    const err = await a.client.listEvents(req("wait"), { token: await userToken(kit), signal: abort.signal }).catch((e: unknown) => e as AppError);
    expect(err.code).toBe("UNAVAILABLE");
    await expect.poll(() => seenByB[0]?.aborted, { timeout: 2_000 }).toBe("UNAVAILABLE");
  });
});

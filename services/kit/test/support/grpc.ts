// A tiny real gRPC server for kit tests: the generated EventService with an implementation the
// test supplies, served by the kit's own bootstrap on a free port.
import { channelPool, createLogger, createMetrics, promiseClient, startGrpcServer, bind, Tokens, type BindingInterceptors, type Caller, type ClientInterceptor, type Implementation } from "@sker/kit";
import { EventServiceService } from "@sker/contracts/store/v1/event";
import { createServer } from "node:net";

export const settings = { jwtSecret: "kit-test-secret-kit-test-secret-0123456789", jwtIssuer: "sker", jwtAudience: "sker-api" };

export function testKit(authorize?: (caller: Caller) => Promise<void>) {
  return {
    tokens: new Tokens(settings),
    log: createLogger("kit-test", "silent"),
    metrics: createMetrics("kit-test"),
    inflight: new Set<Promise<unknown>>(),
    authorize,
  };
}

export type TestKit = ReturnType<typeof testKit>;

export async function startEventServer(
  impl: Implementation<typeof EventServiceService>,
  opts: { kit?: TestKit; drainDelayMs?: number; shutdownTimeoutMs?: number; own?: BindingInterceptors<typeof EventServiceService>; clientInterceptors?: ClientInterceptor[] } = {},
) {
  const kit = opts.kit ?? testKit();
  const running = await startGrpcServer({
    host: "127.0.0.1",
    port: 0,
    services: [bind("sker.store.v1.EventService", EventServiceService, impl, kit, opts.own)],
    kit,
    shutdownTimeoutMs: opts.shutdownTimeoutMs ?? 5_000,
    drainDelayMs: opts.drainDelayMs,
  });
  const pool = channelPool(`127.0.0.1:${running.port}`, 2);
  const client = promiseClient(EventServiceService, pool, { deadlineMs: 5_000, metrics: kit.metrics, interceptors: opts.clientInterceptors });
  return {
    ...running,
    kit,
    client,
    address: `127.0.0.1:${running.port}`,
    async close() {
      pool.close();
      await running.shutdown();
    },
  };
}

/** A port nothing listens on (bound, then released). */
export async function deadPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

export const userToken = (kit: TestKit, ttlSeconds = 60) =>
  kit.tokens.signAccess({ id: "00000000-0000-4000-8000-000000000001", email: "ada@example.com", username: "ada" }, ttlSeconds);

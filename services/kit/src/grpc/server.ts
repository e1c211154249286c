import { Server, ServerCredentials, type ServiceDefinition, type UntypedServiceImplementation } from "@grpc/grpc-js";
import type { EventEmitter } from "node:events";
import { HealthImplementation, type ServingStatusMap } from "grpc-health-check";
import { GRPC_MAX_MESSAGE_BYTES } from "../config.js";
import { implement, tolerantDecoding, type BindingInterceptors, type HandlerKit, type Implementation, type ServiceDef } from "./handler.js";

export interface ServiceBinding {
  /** Full protobuf name, as health checks and reflection know it (sker.store.v1.NodeService). */
  name: string;
  definition: ServiceDef;
  implementation: UntypedServiceImplementation;
}

/**
 * Pairs a generated service definition with its implementation, type-checked RPC by RPC, and
 * the binding's own interceptors (a guard such as `{ methods: { startTask: [serviceOnly("broker")] } }`).
 */
export function bind<D extends ServiceDef>(name: string, definition: D, impl: Implementation<D>, kit: HandlerKit, own?: BindingInterceptors<D>): ServiceBinding {
  return { name, definition: tolerantDecoding(definition), implementation: implement(definition, impl, kit, own) };
}

export interface GrpcServerOptions {
  host?: string;
  port: number;
  services: ServiceBinding[];
  kit: HandlerKit;
  /** How long in-flight calls get to finish on shutdown. */
  shutdownTimeoutMs: number;
  /**
   * On shutdown, how long health answers NOT_SERVING while the listener still accepts calls,
   * so load balancers and readiness probes move traffic away first (0: close at once; Watch
   * streams still see NOT_SERVING before the close).
   */
  drainDelayMs?: number;
  /** The largest message received or sent (GRPC_MAX_MESSAGE_BYTES by default). */
  maxMessageBytes?: number;
  /** Servers close connections after this age so that clients spread over new replicas. */
  maxConnectionAgeMs?: number;
  /** Extra registrations that need the raw server. */
  extras?: ((server: Server) => void)[];
  /** grpc.reflection v1 + v1alpha, listing `services` (default on: grpcurl list/describe need no token). */
  reflection?: boolean;
}

export interface RunningGrpcServer {
  server: Server;
  port: number;
  health: HealthImplementation;
  /** NOT_SERVING at once; then stop accepting, let in-flight calls finish within the bound. */
  shutdown(): Promise<void>;
}

export async function startGrpcServer(opts: GrpcServerOptions): Promise<RunningGrpcServer> {
  const server = new Server({
    "grpc.max_connection_age_ms": opts.maxConnectionAgeMs ?? 5 * 60_000,
    "grpc.max_connection_age_grace_ms": 30_000,
    "grpc.keepalive_permit_without_calls": 1,
    "grpc.max_send_message_length": opts.maxMessageBytes ?? GRPC_MAX_MESSAGE_BYTES,
    "grpc.max_receive_message_length": opts.maxMessageBytes ?? GRPC_MAX_MESSAGE_BYTES,
  });
  const statuses: ServingStatusMap = { "": "SERVING" };
  for (const s of opts.services) statuses[s.name] = "SERVING";
  const health = new HealthImplementation(statuses);
  // Health Watch and reflection streams stay open as long as the client likes; a graceful
  // shutdown waits for every open stream, so these are ended once the drain window is over.
  const streams = new Set<OpenStream>();
  const track = (call: OpenStream) => {
    streams.add(call);
    call.on("cancelled", () => streams.delete(call));
  };
  health.addToServer(trackingWatch(server, track));
  for (const s of opts.services) server.addService(s.definition as unknown as ServiceDefinition, s.implementation);
  if (opts.reflection ?? true) {
    // Loaded here, not at import: descriptor decoding is a server's cost, not every kit user's.
    const { addReflection } = await import("./reflection.js");
    addReflection(server, opts.services.map((s) => s.name), track);
  }
  for (const extra of opts.extras ?? []) extra(server);

  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${opts.host ?? "0.0.0.0"}:${opts.port}`, ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    ),
  );

  let closing: Promise<void> | undefined;
  const shutdown = () =>
    (closing ??= (async () => {
      for (const name of Object.keys(statuses)) health.setStatus(name, "NOT_SERVING");
      const { kit } = opts;
      const drainMs = Math.min(opts.drainDelayMs ?? 0, opts.shutdownTimeoutMs);
      if (drainMs > 0) await new Promise((r) => setTimeout(r, drainMs));
      for (const call of streams) if (!call.writableEnded) call.end();
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          kit.log.warn({ inflight: kit.inflight.size }, "shutdown bound reached; cancelling the calls left");
          server.forceShutdown();
          resolve();
        }, Math.max(opts.shutdownTimeoutMs - drainMs, 0));
        force.unref();
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    })());

  return { server, port, health, shutdown };
}

/** A server-side stream that only ends when we end it. */
type OpenStream = EventEmitter & { end(): void; writableEnded: boolean };

/** The server, as HealthImplementation.addToServer sees it, with every Watch stream tracked. */
function trackingWatch(server: Server, track: (call: OpenStream) => void): Server {
  return {
    addService(def: ServiceDefinition, impl: UntypedServiceImplementation) {
      const watch = impl.watch as (call: OpenStream) => void;
      server.addService(def, {
        ...impl,
        watch: (call: OpenStream) => {
          track(call);
          watch(call);
        },
      });
    },
  } as Server;
}

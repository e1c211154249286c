import fp from "fastify-plugin";
import websocket from "@fastify/websocket";
import { randomUUID } from "node:crypto";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { ACCOUNTS_CHANNEL, type AccountRevoked } from "@sker/kit";
import { createAjv } from "../rest/ajv.js";
import { submitTask, type TaskBody } from "../rest/schemas/tasks.js";
import type { GatewayDeps } from "../types.js";
import type { ProjectHub } from "./hub.js";
import { Presence } from "./presence.js";
import { SocketCap } from "./socket-cap.js";
import { CLOSE } from "./sender.js";
import { Session, type SessionEnv } from "./session.js";

/** GET /ws (docs/api.md#websocket). Sessions are closed with 1001 when the gateway shuts down. */
export const wsPlugin = fp<{ deps: GatewayDeps; hub: ProjectHub }>(
  async (app, { deps, hub }) => {
    const sessions = new Set<Session>();
    await app.register(websocket, {
      options: { maxPayload: 256 * 1024 },
      preClose(done) {
        for (const s of sessions) s.close(CLOSE.goingAway, "server shutting down");
        app.websocketServer.close(() => done());
      },
    });

    const sockets = new SocketCap(deps.redis, { max: deps.config.ws.maxSocketsPerUser, leaseMs: deps.config.ws.socketLeaseMs, keyPrefix: deps.config.redisKeyPrefix, log: deps.log });
    app.addHook("onClose", async () => sockets.close());
    const presence = new Presence(deps.bus, hub, deps.log, { ttlMs: deps.config.ws.presenceTtlMs, minIntervalMs: deps.config.ws.presenceMinIntervalMs });
    const env: SessionEnv = {
      deps,
      hub,
      presence,
      // The same validator as POST /ai-tasks' body.
      validateTask: createAjv("body").compile<TaskBody>(submitTask),
      limit: (kind, key) => app.limits.check(kind, key),
      sockets,
      onSlow: () => app.wsMetrics.slowClosed.inc(),
      onSent: (kind) => app.wsMetrics.eventsSent.inc({ kind }),
    };

    // The store announces revoked accounts and tokens on the bus: their sockets close at once,
    // and API keys verified for that account are asked about again.
    let stopRevocations: (() => Promise<void>) | undefined;
    app.addHook("onReady", async () => {
      stopRevocations = await hub.add(ACCOUNTS_CHANNEL, (e) => {
        const event = e.data as AccountRevoked;
        if (!event.tokenId) app.apiKeys.forgetUser(event.userId);
        for (const s of sessions) s.revoked(event);
      });
    });
    app.addHook("onClose", async () => stopRevocations?.());

    const ping = setInterval(() => {
      for (const s of sessions) s.heartbeat();
    }, deps.config.ws.pingIntervalMs);
    ping.unref();
    app.addHook("onClose", async () => clearInterval(ping));

    // ?token= may come as anything (twice, empty): only a single string is taken, so the schema
    // refuses nothing and the handler looks at what came.
    const query = Type.Object({ token: Type.Optional(Type.Unknown()) });
    app.withTypeProvider<TypeBoxTypeProvider>().get("/ws", { websocket: true, schema: { hide: true, querystring: query } }, (socket, req) => {
      const token = typeof req.query.token === "string" ? req.query.token : undefined;
      const session = new Session(socket, env, typeof req.id === "string" ? req.id : randomUUID(), token, req.ip);
      sessions.add(session);
      app.wsMetrics.openSockets.inc();
      socket.on("close", () => {
        sessions.delete(session);
        app.wsMetrics.openSockets.dec();
      });
    });
  },
  { name: "sker-ws" },
);

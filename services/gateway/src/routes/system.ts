import type { FastifyPluginAsync } from "fastify";
import { ok, Task } from "../rest/schemas.js";
import * as map from "../rest/map.js";
import { as, errorResponses, okBody, secured } from "./common.js";
import { dependencyHealth } from "./health.js";

// Admin routes (SKER_ADMIN_EMAILS). The broker checks the forwarded identity again.

export const systemRoutes: FastifyPluginAsync = async (app) => {
  app.addHook("onRequest", app.requireAdmin);
  const deps = app.deps;
  const health = dependencyHealth(deps);
  const tags = ["system"];

  app.get(
    "/info",
    {
      schema: {
        tags,
        security: secured,
        response: {
          200: ok({
            type: "object",
            properties: {
              version: { type: "string" },
              uptimeSeconds: { type: "number" },
              dependencies: { type: "object", additionalProperties: { type: "string" } },
            },
          }),
          ...errorResponses,
        },
      },
    },
    async () => {
      const [h, redis] = await Promise.all([
        health(),
        deps.redis
          ? deps.redis.ping().then(
              () => "up",
              () => "down",
            )
          : Promise.resolve("in-memory"),
      ]);
      return okBody({
        version: deps.config.version,
        uptimeSeconds: Math.round((Date.now() - deps.state.startedAt) / 1000),
        dependencies: {
          store: h.store ? "up" : "down",
          broker: h.broker ? "up" : "down",
          redis,
          eventBus: deps.config.rabbitmqUrl ? "rabbitmq" : "in-process",
        },
      });
    },
  );

  app.get(
    "/queues",
    {
      schema: {
        tags,
        security: secured,
        response: {
          200: ok({
            type: "object",
            properties: {
              queues: { type: "array", items: { type: "object", properties: { name: { type: "string" }, messages: { type: "integer" }, consumers: { type: "integer" } } } },
              deadLetters: { type: "integer" },
              workers: { type: "integer" },
            },
          }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const res = await deps.clients.broker.getQueueStats({}, as(req));
      return okBody({ queues: res.queues, deadLetters: res.deadLetters, workers: res.workers });
    },
  );

  app.post<{ Params: { taskId: string } }>(
    "/dead-letters/:taskId/replay",
    {
      schema: {
        tags,
        security: secured,
        params: { type: "object", additionalProperties: false, properties: { taskId: { type: "string", format: "uuid" } }, required: ["taskId"] },
        response: { 200: ok(Task), ...errorResponses },
      },
    },
    async (req) => okBody(map.task((await deps.clients.broker.replayDeadLetter({ taskId: req.params.taskId }, as(req))).task)),
  );
};

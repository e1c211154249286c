import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { ok } from "../rest/schemas/common.js";
import { as, errorResponses, okBody, secured } from "./common.js";

const Model = {
  type: "object",
  properties: {
    alias: { type: "string", description: "what options.model names" },
    provider: { type: "string" },
    contextWindow: { type: "integer", description: "tokens" },
    inputPricePerMillion: { type: "number", description: "USD per million input tokens" },
    outputPricePerMillion: { type: "number", description: "USD per million output tokens" },
    fallbacks: { type: "array", items: { type: "string" } },
    default: { type: "boolean" },
  },
};

export const modelRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { broker } = app.deps.clients;
  app.get(
    "/ai/models",
    {
      schema: {
        tags: ["ai-tasks"],
        summary: "The models a task may name in options.model (from the models file); never keys or URLs",
        security: secured,
        response: { 200: ok({ type: "object", properties: { items: { type: "array", items: Model } } }), ...errorResponses },
      },
    },
    async (req) => okBody({ items: (await broker.listModels({}, as(req))).models }),
  );
};

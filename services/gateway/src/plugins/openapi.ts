import fp from "fastify-plugin";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { GatewayDeps } from "../types.js";

/** The OpenAPI 3 document is generated from the route schemas: /api/docs/json, UI at /api/docs. */
export const openapiPlugin = fp<{ deps: GatewayDeps }>(
  async (app, { deps }) => {
    await app.register(swagger, {
      openapi: {
        openapi: "3.0.3",
        info: { title: "SKER mesh API", version: deps.config.version, description: "REST API of the SKER gateway (docs/api.md)." },
        components: {
          securitySchemes: {
            bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" },
            apiKey: { type: "apiKey", in: "header", name: "X-API-Key" },
          },
        },
      },
    });
    await app.register(swaggerUi, { routePrefix: "/api/docs", staticCSP: false });
  },
  { name: "sker-openapi" },
);

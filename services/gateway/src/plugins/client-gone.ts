import fp from "fastify-plugin";

declare module "fastify" {
  interface FastifyRequest {
    /**
     * Aborted when the client closes the connection before its answer is sent: every gRPC
     * call made for the request carries it (routes/common.ts `as`), so the store and broker
     * stop the work nobody waits for. Fastify's own `request.signal` follows the request
     * stream, which closes as soon as a body has been read, so it cannot say this.
     */
    clientGone: AbortSignal;
  }
}

export const clientGonePlugin = fp(
  async (app) => {
    app.decorateRequest("clientGone", null as unknown as AbortSignal);
    app.addHook("onRequest", async (req, reply) => {
      const gone = new AbortController();
      req.clientGone = gone.signal;
      reply.raw.once("close", () => {
        if (!reply.raw.writableFinished) gone.abort();
      });
    });
  },
  { name: "sker-client-gone" },
);

import { context, propagation, SpanKind, SpanStatusCode, trace, type Span } from "@opentelemetry/api";
import fp from "fastify-plugin";
import { tracingOn } from "@sker/kit";

declare module "fastify" {
  interface FastifyRequest {
    span?: Span;
  }
}

const tracer = trace.getTracer("sker-gateway");

/**
 * One server span per HTTP request, continuing a caller's W3C traceparent. The span is made
 * active around each route handler (not from onRequest): Fastify reads bodies on the socket's
 * own async context, so a context entered in a hook would be lost before a POST's handler.
 * Everything the handler calls (gRPC clients, logs) then joins the request's trace.
 * While tracing is off (no OTEL_EXPORTER_OTLP_ENDPOINT when the app is built) no hook is added:
 * a request pays nothing for it.
 */
export const tracingPlugin = fp(
  async (app) => {
    if (!tracingOn()) return;
    app.addHook("onRequest", async (req) => {
      const parent = propagation.extract(context.active(), req.headers);
      req.span = tracer.startSpan(`${req.method} ${req.routeOptions.url ?? "unknown"}`, { kind: SpanKind.SERVER, attributes: { "http.request.method": req.method, "http.route": req.routeOptions.url ?? "", "sker.request_id": req.id } }, parent);
    });
    app.addHook("onRoute", (route) => {
      // @fastify/websocket swaps the handler of its own routes; a socket is not one request.
      if ((route as { websocket?: boolean }).websocket) return;
      const handler = route.handler;
      route.handler = function (req, reply) {
        const span = req.span;
        return span ? context.with(trace.setSpan(context.active(), span), () => handler.call(this, req, reply)) : handler.call(this, req, reply);
      };
    });
    app.addHook("onResponse", async (req, reply) => {
      if (!req.span) return;
      req.span.setAttribute("http.response.status_code", reply.statusCode);
      if (reply.statusCode >= 500) req.span.setStatus({ code: SpanStatusCode.ERROR });
      req.span.end();
    });
  },
  { name: "sker-tracing" },
);

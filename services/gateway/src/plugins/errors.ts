import type { ErrorObject } from "ajv";
import fp from "fastify-plugin";
import type { FastifyBaseLogger, FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { AppError, ERRORS, type ErrorCode, type ErrorDetails } from "@sker/kit";
import { createAjv } from "../rest/ajv.js";

// The one error path of the gateway: whatever is thrown (an AppError from a handler or from a
// gRPC call through promiseClient, a schema violation, a parser error) becomes the docs/api.md
// envelope with the status of kit's ERRORS table. Nothing a client sends may produce a 500.

/** "/position/x" + missing "y" → "position.y"; the field a client has to fix. */
function fieldOf(e: ErrorObject, context: string): string {
  const base = e.instancePath.split("/").filter(Boolean).join(".");
  const extra =
    e.keyword === "additionalProperties"
      ? (e.params as { additionalProperty: string }).additionalProperty
      : e.keyword === "required"
        ? (e.params as { missingProperty: string }).missingProperty
        : "";
  const path = [base, extra].filter(Boolean).join(".");
  if (path) return path;
  return context === "body" ? "body" : context;
}

function messageOf(e: ErrorObject): string {
  if (e.keyword === "additionalProperties") return "is not a known field";
  if (e.keyword === "required") return "is required";
  return e.message ?? "is invalid";
}

export function validationError(errors: ErrorObject[], context: string): AppError {
  const fields = errors.map((e) => ({ field: fieldOf(e, context), message: messageOf(e) }));
  const first = fields[0] ?? { field: context, message: "is invalid" };
  return new AppError("VALIDATION_ERROR", `${first.field}: ${first.message}`, { field: first.field, fields });
}

const BY_STATUS: Record<number, ErrorCode> = {
  400: "VALIDATION_ERROR",
  401: "UNAUTHENTICATED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  409: "CONFLICT",
  413: "PAYLOAD_TOO_LARGE",
  429: "RATE_LIMITED",
  503: "UNAVAILABLE",
};

/** Anything thrown → AppError. Unknown non-client errors become INTERNAL (logged). */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const fe = err as FastifyError & { validation?: ErrorObject[]; validationContext?: string };
  if (fe?.validation) return validationError(fe.validation, fe.validationContext ?? "body");
  switch (fe?.code) {
    case "FST_ERR_CTP_INVALID_JSON_BODY":
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return new AppError("INVALID_JSON", "the body is not valid JSON", undefined, { cause: err });
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new AppError("INVALID_JSON", "the body must be application/json", undefined, { cause: err });
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new AppError("PAYLOAD_TOO_LARGE", "the body is larger than the limit", undefined, { cause: err });
  }
  // JSON.parse's own SyntaxError (and secure-json-parse's prototype-poisoning refusal) carry 400.
  if (fe instanceof SyntaxError || (fe?.statusCode === 400 && /JSON|prototype/i.test(fe.message ?? "")))
    return new AppError("INVALID_JSON", "the body is not valid JSON", undefined, { cause: err });
  const status = fe?.statusCode;
  if (typeof status === "number" && status >= 400 && status < 500)
    return new AppError(BY_STATUS[status] ?? "VALIDATION_ERROR", fe.message || "bad request", undefined, { cause: err });
  return new AppError("INTERNAL", "internal error", undefined, { cause: err });
}

/** What a client is told of a server-side failure: the kind, never the cause. */
const SERVER_SIDE: Partial<Record<ErrorCode, string>> = {
  UNAVAILABLE: "a dependency is unavailable",
  DEADLINE_EXCEEDED: "a dependency did not answer in time",
  INTERNAL: "internal error",
};

export interface PublicError {
  code: ErrorCode;
  message: string;
  details?: ErrorDetails;
}

/**
 * The error as a client may see it (REST envelope and WebSocket frames alike). A 5xx message
 * is whatever grpc-js or a driver said ("connect ECONNREFUSED 127.0.0.1:3001", a deadline with
 * the remote address): it is logged here with the request id and replaced by a fixed sentence.
 */
export function publicError(err: unknown, log: Pick<FastifyBaseLogger, "warn" | "error">, requestId: string): PublicError {
  const app = toAppError(err);
  if (app.httpStatus < 500) return { code: app.code, message: app.message, ...(app.details ? { details: app.details } : {}) };
  if (app.code === "INTERNAL") log.error({ err, requestId }, "unhandled error");
  // The error with its cause (the gRPC status and where it came from): for the log only.
  else log.warn({ err: app, code: app.code, requestId }, "dependency error");
  return { code: app.code, message: SERVER_SIDE[app.code] ?? "internal error" };
}

export function sendError(req: FastifyRequest, reply: FastifyReply, err: unknown) {
  const error = publicError(err, req.log, req.id);
  // A limit counted behind the gateway (the store's AI budget) says when in details.
  const retryAfter = error.details?.retryAfter;
  if (error.code === "RATE_LIMITED" && typeof retryAfter === "number" && !reply.hasHeader("retry-after")) reply.header("retry-after", String(retryAfter));
  return reply.code(ERRORS[error.code].http).type("application/json; charset=utf-8").send({ success: false, error, requestId: req.id });
}

export const errorsPlugin = fp(
  async (app) => {
    const body = createAjv("body");
    const other = createAjv("query");
    app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === "body" ? body : other).compile(schema));

    app.setErrorHandler((err, req, reply) => sendError(req, reply, err));

    app.setNotFoundHandler((req, reply) => sendError(req, reply, new AppError("NOT_FOUND", `no route ${req.method} ${req.url.split("?")[0]}`)));
  },
  { name: "sker-errors" },
);

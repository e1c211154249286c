import { Metadata, status as GrpcStatus, type ServiceError } from "@grpc/grpc-js";

// The one error table: a domain code, the gRPC status it travels as, the HTTP status the
// gateway answers. The domain code and details ride in trailers (sker-error-*), so the
// gateway can answer VERSION_CONFLICT rather than a generic 409.
export const ERRORS = {
  VALIDATION_ERROR: { grpc: GrpcStatus.INVALID_ARGUMENT, http: 400 },
  INVALID_JSON: { grpc: GrpcStatus.INVALID_ARGUMENT, http: 400 },
  UNAUTHENTICATED: { grpc: GrpcStatus.UNAUTHENTICATED, http: 401 },
  FORBIDDEN: { grpc: GrpcStatus.PERMISSION_DENIED, http: 403 },
  // A quota of the account or project (details: quota, limit, used), not a rate: waiting does not help.
  QUOTA_EXCEEDED: { grpc: GrpcStatus.RESOURCE_EXHAUSTED, http: 403 },
  NOT_FOUND: { grpc: GrpcStatus.NOT_FOUND, http: 404 },
  CONFLICT: { grpc: GrpcStatus.ALREADY_EXISTS, http: 409 },
  VERSION_CONFLICT: { grpc: GrpcStatus.ABORTED, http: 409 },
  PAYLOAD_TOO_LARGE: { grpc: GrpcStatus.RESOURCE_EXHAUSTED, http: 413 },
  RATE_LIMITED: { grpc: GrpcStatus.RESOURCE_EXHAUSTED, http: 429 },
  // A message between our services over GRPC_MAX_MESSAGE_BYTES: our bug, not the caller's.
  MESSAGE_TOO_LARGE: { grpc: GrpcStatus.RESOURCE_EXHAUSTED, http: 500 },
  // A monthly AI budget (project or user) has no room for the task: details {scope, budget, spent, reserved, resetsAt}.
  BUDGET_EXCEEDED: { grpc: GrpcStatus.RESOURCE_EXHAUSTED, http: 402 },
  FAILED_PRECONDITION: { grpc: GrpcStatus.FAILED_PRECONDITION, http: 409 },
  UNAVAILABLE: { grpc: GrpcStatus.UNAVAILABLE, http: 503 },
  // A dependency took longer than the call's deadline: 504 (a gateway timeout), not 503 (it is up).
  DEADLINE_EXCEEDED: { grpc: GrpcStatus.DEADLINE_EXCEEDED, http: 504 },
  INTERNAL: { grpc: GrpcStatus.INTERNAL, http: 500 },
} as const;

export type ErrorCode = keyof typeof ERRORS;

/** For a gRPC status that arrives without our trailer (a proxy, a deadline, a crash). */
const FROM_GRPC: Partial<Record<GrpcStatus, ErrorCode>> = {
  [GrpcStatus.INVALID_ARGUMENT]: "VALIDATION_ERROR",
  [GrpcStatus.UNAUTHENTICATED]: "UNAUTHENTICATED",
  [GrpcStatus.PERMISSION_DENIED]: "FORBIDDEN",
  [GrpcStatus.NOT_FOUND]: "NOT_FOUND",
  [GrpcStatus.ALREADY_EXISTS]: "CONFLICT",
  [GrpcStatus.ABORTED]: "VERSION_CONFLICT",
  [GrpcStatus.FAILED_PRECONDITION]: "FAILED_PRECONDITION",
  // Only our own trailer says RATE_LIMITED; bare, this is grpc-js refusing a message's size.
  [GrpcStatus.RESOURCE_EXHAUSTED]: "MESSAGE_TOO_LARGE",
  [GrpcStatus.UNAVAILABLE]: "UNAVAILABLE",
  [GrpcStatus.DEADLINE_EXCEEDED]: "DEADLINE_EXCEEDED",
  [GrpcStatus.CANCELLED]: "UNAVAILABLE",
};

/** What a caller reads for a bare status whose text is grpc-js's, not ours. */
const PLAIN: Partial<Record<ErrorCode, string>> = {
  INTERNAL: "internal error",
  MESSAGE_TOO_LARGE: "a message between services was larger than GRPC_MAX_MESSAGE_BYTES",
};

export type ErrorDetails = Record<string, unknown>;

/**
 * Why, more precisely than the code, in a form a program tests (google.rpc.ErrorInfo's reason):
 * TOKEN_EXPIRED is an UNAUTHENTICATED a client fixes by refreshing, not by signing in again.
 */
export type ErrorReason = "TOKEN_EXPIRED";

export interface AppErrorOptions {
  /** What went wrong underneath: logged with the error, never sent to a client. */
  cause?: unknown;
  reason?: ErrorReason;
}

/**
 * Outcomes a caller is told about and no one debugs: they travel without a stack, which V8 would
 * otherwise capture for every NOT_FOUND, denial or conflict an RPC answers (2% of the store's
 * CPU on a hot read). Failures of our own or of a dependency keep theirs.
 */
const WITH_STACK: ReadonlySet<ErrorCode> = new Set<ErrorCode>(["INTERNAL", "UNAVAILABLE", "DEADLINE_EXCEEDED"]);

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details?: ErrorDetails;
  readonly reason?: ErrorReason;

  constructor(code: ErrorCode, message: string, details?: ErrorDetails, options: AppErrorOptions = {}) {
    const limit = Error.stackTraceLimit;
    if (!WITH_STACK.has(code)) Error.stackTraceLimit = 0;
    try {
      super(message, options.cause === undefined ? undefined : { cause: options.cause });
    } finally {
      Error.stackTraceLimit = limit;
    }
    this.code = code;
    this.details = details;
    this.name = "AppError";
    if (options.reason) this.reason = options.reason;
  }

  get httpStatus(): number {
    return ERRORS[this.code].http;
  }

  get grpcStatus(): GrpcStatus {
    return ERRORS[this.code].grpc;
  }
}

/** A validation failure that names the field (details.field), as every 400 must. */
export function invalid(field: string, message: string): AppError {
  return new AppError("VALIDATION_ERROR", `${field}: ${message}`, { field });
}

export const notFound = (what: string) => new AppError("NOT_FOUND", `${what} not found`);
export const forbidden = (message = "your role does not allow this") => new AppError("FORBIDDEN", message);
export const unauthenticated = (message = "authentication required") => new AppError("UNAUTHENTICATED", message);

const CODE_KEY = "sker-error-code";
const DETAILS_KEY = "sker-error-details";
const REASON_KEY = "sker-error-reason";
const REASONS: readonly ErrorReason[] = ["TOKEN_EXPIRED"];

/**
 * A dependency that cannot be reached right now (the database pool has no connection to give in
 * time, the server refused or dropped it, PostgreSQL is shutting down): UNAVAILABLE, which
 * callers may retry and the gateway answers 503, rather than a 500 for a bug.
 */
// 53300: PostgreSQL has no connection slot left (max_connections), which passes like the rest.
const UNREACHABLE_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "57P01", "57P02", "57P03", "53300"]);
const UNREACHABLE_MESSAGES = /timeout exceeded when trying to connect|Connection terminated|Client has encountered a connection error/;
export function dependencyUnavailable(err: unknown): AppError | undefined {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === "string" ? e.code : "";
  if (UNREACHABLE_CODES.has(code) || code.startsWith("08") || UNREACHABLE_MESSAGES.test(String(e?.message ?? ""))) {
    return new AppError("UNAVAILABLE", "a dependency is unavailable; retry", undefined, { cause: err });
  }
  return undefined;
}

/**
 * 57014: PostgreSQL cancelled the statement. Only the store's cancel-on-abort does that, for a
 * call that was cancelled or passed its deadline; when the error outruns the call's own stop
 * signal it must still read as the deadline, not as a 500 for a bug.
 */
export function statementCancelled(err: unknown): AppError | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "57014" ? new AppError("DEADLINE_EXCEEDED", "the call stopped before its statement finished", undefined, { cause: err }) : undefined;
}

/** Anything thrown that is not an AppError, as the AppError it stands for (undefined: a bug). */
function known(err: unknown): AppError | undefined {
  return dependencyUnavailable(err) ?? statementCancelled(err);
}

/** The gRPC status anything thrown travels as. */
export function grpcStatusOf(err: unknown): GrpcStatus {
  if (err instanceof AppError) return err.grpcStatus;
  return known(err)?.grpcStatus ?? GrpcStatus.INTERNAL;
}

/** AppError (or anything thrown) → the ServiceError a grpc-js handler passes to its callback. */
export function toServiceError(err: unknown): Partial<ServiceError> {
  const app = err instanceof AppError ? err : (known(err) ?? new AppError("INTERNAL", "internal error"));
  const metadata = new Metadata();
  metadata.set(CODE_KEY, app.code);
  if (app.details) metadata.set(DETAILS_KEY, JSON.stringify(app.details));
  if (app.reason) metadata.set(REASON_KEY, app.reason);
  // The cause stays here: it is logged by the server (grpc/server/logging.ts), never sent.
  return { code: app.grpcStatus, details: app.message, metadata };
}

/** A client-side gRPC error → AppError with the domain code the server meant. */
export function fromServiceError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const se = err as Partial<ServiceError>;
  if (typeof se?.code !== "number") return new AppError("INTERNAL", String((err as Error)?.message ?? err), undefined, { cause: err });
  const code = se.metadata?.get(CODE_KEY)[0];
  const rawDetails = se.metadata?.get(DETAILS_KEY)[0];
  let details: ErrorDetails | undefined;
  if (typeof rawDetails === "string") {
    try {
      details = JSON.parse(rawDetails) as ErrorDetails;
    } catch {
      details = undefined;
    }
  }
  const domain = typeof code === "string" && code in ERRORS ? (code as ErrorCode) : (FROM_GRPC[se.code as GrpcStatus] ?? "INTERNAL");
  const message = !code && PLAIN[domain] ? PLAIN[domain] : (se.details ?? domain);
  const reason = se.metadata?.get(REASON_KEY)[0];
  return new AppError(domain, message, details, { cause: err, reason: REASONS.find((r) => r === reason) });
}

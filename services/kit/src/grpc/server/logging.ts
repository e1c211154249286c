import { status as GrpcStatus } from "@grpc/grpc-js";
import { AppError, grpcStatusOf } from "../../errors.js";
import type { Logger } from "../../logger.js";
import type { ServerInterceptor } from "./call.js";

/**
 * A logger with the request id and method for everything below, a debug line per call, and
 * the whole error (with its cause) for what the error table turns into a bare status: the
 * client is told the kind, the log keeps the why.
 */
export const logging =
  (base: Logger): ServerInterceptor =>
  (next) =>
  async (call) => {
    const started = process.hrtime.bigint();
    const log = base.child({ requestId: call.requestId, method: call.method });
    let code: GrpcStatus = GrpcStatus.OK;
    try {
      return await next({ ...call, log });
    } catch (err) {
      code = grpcStatusOf(err);
      if (!(err instanceof AppError)) {
        if (code === GrpcStatus.UNAVAILABLE) log.warn({ err }, "dependency unavailable");
        else log.error({ err }, "unhandled error in RPC");
      } else if (err.cause !== undefined) log.warn({ err }, "rpc failed");
      throw err;
    } finally {
      log.debug({ code: GrpcStatus[code], ms: Math.round(Number(process.hrtime.bigint() - started) / 1e6) }, "rpc");
    }
  };

import { status as GrpcStatus } from "@grpc/grpc-js";
import { grpcStatusOf } from "../../errors.js";
import type { Metrics } from "../../metrics.js";
import type { ServerInterceptor } from "./call.js";

/** grpc_server_handling_seconds by method and code; a call its client cancelled counts as CANCELLED. */
export const metrics =
  (m: Metrics): ServerInterceptor =>
  (next) =>
  async (call) => {
    const started = process.hrtime.bigint();
    let code: GrpcStatus = GrpcStatus.OK;
    try {
      return await next(call);
    } catch (err) {
      code = grpcStatusOf(err);
      if (call.signal.aborted && code !== GrpcStatus.DEADLINE_EXCEEDED) code = GrpcStatus.CANCELLED;
      throw err;
    } finally {
      m.rpcDuration.observe({ method: call.method, code: GrpcStatus[code] }, Number(process.hrtime.bigint() - started) / 1e9);
    }
  };

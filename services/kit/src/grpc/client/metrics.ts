import { status as GrpcStatus, type ServiceError } from "@grpc/grpc-js";
import type { Metrics } from "../../metrics.js";
import type { ClientInterceptor } from "./call.js";

/** grpc_client_handling_seconds by method and code, per attempt. */
export const metrics =
  (m: Metrics): ClientInterceptor =>
  (next) =>
  async (call) => {
    const started = process.hrtime.bigint();
    let code: number = GrpcStatus.OK;
    try {
      return await next(call);
    } catch (err) {
      code = (err as Partial<ServiceError>)?.code ?? GrpcStatus.UNKNOWN;
      throw err;
    } finally {
      m.clientDuration.observe({ method: call.method, code: GrpcStatus[code] }, Number(process.hrtime.bigint() - started) / 1e9);
    }
  };

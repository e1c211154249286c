import type { ServiceError } from "@grpc/grpc-js";
import type { ChannelPool } from "../channel-pool.js";
import type { ClientCall } from "./call.js";

type Codec = { requestSerialize: (v: any) => Buffer; responseDeserialize: (b: Buffer) => any };

/** The innermost step: one unary request on the next channel, cancelled when the caller's signal aborts. */
export const transport =
  (pool: ChannelPool, codec: Codec) =>
  (call: ClientCall): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const { signal } = call.options;
      let pending: { cancel(): void } | undefined;
      const cancel = () => pending?.cancel();
      pending = pool.next().makeUnaryRequest(
        call.method,
        codec.requestSerialize,
        codec.responseDeserialize,
        call.request,
        call.metadata,
        call.deadline !== undefined ? { deadline: call.deadline } : {},
        (err: ServiceError | null, res?: unknown) => {
          signal?.removeEventListener("abort", cancel);
          if (err) reject(err);
          else resolve(res);
        },
      );
      if (signal?.aborted) pending.cancel();
      else signal?.addEventListener("abort", cancel, { once: true });
    });

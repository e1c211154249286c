import { Client, connectivityState, credentials } from "@grpc/grpc-js";
import { GRPC_MAX_MESSAGE_BYTES } from "../config.js";

export interface ChannelPool {
  /** The next channel, round robin, passing over channels still waiting out a reconnect backoff. */
  next(): Client;
  close(): void;
}

/**
 * A few channels to one target. The grpc-js client is the costly side of a call and one
 * channel saturates early; callers spreading over 2–4 channels measured +24–43% (docs/toolchain.md).
 * With a dns:/// target and round_robin, each channel also balances across replicas.
 */
export function channelPool(target: string, size = 3, maxMessageBytes = GRPC_MAX_MESSAGE_BYTES): ChannelPool {
  const channels = Array.from(
    { length: size },
    () =>
      new Client(target, credentials.createInsecure(), {
        "grpc.use_local_subchannel_pool": 1,
        "grpc.service_config": JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
        "grpc.keepalive_time_ms": 30_000,
        // A restarted server is used within a second of listening again.
        "grpc.initial_reconnect_backoff_ms": 200,
        "grpc.max_reconnect_backoff_ms": 1_000,
        "grpc.max_send_message_length": maxMessageBytes,
        "grpc.max_receive_message_length": maxMessageBytes,
      }),
  );
  let i = 0;
  // Each channel reconnects on its own schedule: once one is back, calls go to it rather than
  // failing fast on a sibling that is still in TRANSIENT_FAILURE.
  const failing = (c: Client) => c.getChannel().getConnectivityState(false) === connectivityState.TRANSIENT_FAILURE;
  return {
    next: () => {
      for (let k = 0; k < channels.length; k++) {
        const c = channels[i++ % channels.length];
        if (!failing(c)) return c;
      }
      return channels[i++ % channels.length];
    },
    close: () => channels.forEach((c) => c.close()),
  };
}

import { Metadata, type ServiceError } from "@grpc/grpc-js";
import { service as healthService } from "grpc-health-check";
import { channelPool, promiseClient, type ChannelPool, type Metrics } from "@sker/kit";
import { UserServiceService } from "@sker/contracts/store/v1/user";
import { ProjectServiceService } from "@sker/contracts/store/v1/project";
import { NodeServiceWithJsonPages } from "@sker/contracts/json-page";
import { ConnectionServiceService } from "@sker/contracts/store/v1/connection";
import { TaskServiceService } from "@sker/contracts/store/v1/task";
import { EventServiceService } from "@sker/contracts/store/v1/event";
import { CollabServiceService } from "@sker/contracts/store/v1/collab";
import { RunServiceService } from "@sker/contracts/store/v1/run";
import { UsageServiceService } from "@sker/contracts/store/v1/usage";
import { BrokerServiceService } from "@sker/contracts/broker/v1/broker";

// The gateway is a gRPC client only: one channel pool per target, one typed promise client per
// service. promiseClient gives every call its deadline, the forwarded token and the request id.

export function createClients(opts: { storeAddr: string; brokerAddr: string; deadlineMs: number; metrics: Metrics; maxMessageBytes?: number }) {
  const storePool = channelPool(opts.storeAddr, 3, opts.maxMessageBytes);
  const brokerPool = channelPool(opts.brokerAddr, 3, opts.maxMessageBytes);
  const d = { deadlineMs: opts.deadlineMs, metrics: opts.metrics };
  return {
    users: promiseClient(UserServiceService, storePool, d),
    projects: promiseClient(ProjectServiceService, storePool, d),
    nodes: promiseClient(NodeServiceWithJsonPages, storePool, d),
    connections: promiseClient(ConnectionServiceService, storePool, d),
    tasks: promiseClient(TaskServiceService, storePool, d),
    events: promiseClient(EventServiceService, storePool, d),
    collab: promiseClient(CollabServiceService, storePool, d),
    runs: promiseClient(RunServiceService, storePool, d),
    usage: promiseClient(UsageServiceService, storePool, d),
    broker: promiseClient(BrokerServiceService, brokerPool, d),
    /** grpc.health.v1 of each target: true when it answers SERVING within the deadline. */
    health: {
      store: (deadlineMs = 1000) => checkHealth(storePool, deadlineMs),
      broker: (deadlineMs = 1000) => checkHealth(brokerPool, deadlineMs),
    },
    close() {
      storePool.close();
      brokerPool.close();
    },
  };
}

export type Clients = ReturnType<typeof createClients>;

const check = healthService.Check;

function checkHealth(pool: ChannelPool, deadlineMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    pool.next().makeUnaryRequest(
      check.path,
      check.requestSerialize,
      check.responseDeserialize,
      { service: "" },
      new Metadata(),
      { deadline: Date.now() + deadlineMs },
      (err: ServiceError | null, res?: { status?: string | number }) => {
        resolve(!err && (res?.status === "SERVING" || res?.status === 1));
      },
    );
  });
}

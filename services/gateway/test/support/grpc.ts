// Direct gRPC clients to a stack's store and broker, as a caller that skips the gateway would
// use them (the store and broker must hold their own limits). Requests may leave fields out:
// the proto3 defaults fill them.
import { channelPool, promiseClient, Tokens, type CallOptions } from "@sker/kit";
import { loadStoreConfig } from "@sker/store";
import { UserServiceService } from "@sker/contracts/store/v1/user";
import { ProjectServiceService } from "@sker/contracts/store/v1/project";
import { NodeServiceService } from "@sker/contracts/store/v1/node";
import { ConnectionServiceService } from "@sker/contracts/store/v1/connection";
import { TaskServiceService } from "@sker/contracts/store/v1/task";
import { EventServiceService } from "@sker/contracts/store/v1/event";
import { BrokerServiceService } from "@sker/contracts/broker/v1/broker";
import type { Stack } from "@sker/testkit/stack";

type AnyDef = Record<string, { requestDeserialize: (b: Buffer) => unknown; requestSerialize: (v: any) => Buffer; responseDeserialize: (b: Buffer) => any; path: string }>;
type Loose<D extends AnyDef> = { [K in keyof D]: (req: Record<string, unknown>, opts: CallOptions) => Promise<ReturnType<D[K]["responseDeserialize"]>> };

function loose<D extends AnyDef>(def: D, addr: string): Loose<D> {
  const client = promiseClient(def, channelPool(addr, 1), { deadlineMs: 30_000 }) as unknown as Record<string, (r: unknown, o: CallOptions) => Promise<unknown>>;
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(def)) out[name] = (req: object, opts: CallOptions) => client[name]({ ...(def[name].requestDeserialize(Buffer.alloc(0)) as object), ...req }, opts);
  return out as Loose<D>;
}

export function directClients(stack: Stack) {
  const tokens = new Tokens(loadStoreConfig(stack.env).common);
  const store = stack.env.STORE_ADDR;
  return {
    users: loose(UserServiceService, store),
    projects: loose(ProjectServiceService, store),
    nodes: loose(NodeServiceService, store),
    connections: loose(ConnectionServiceService, store),
    tasks: loose(TaskServiceService, store),
    events: loose(EventServiceService, store),
    broker: loose(BrokerServiceService, stack.env.BROKER_ADDR),
    /** A service's own token (gateway: register/login; broker: CreateTask). */
    serviceToken: (name: string) => tokens.service(name),
  };
}

export type Direct = ReturnType<typeof directClients>;

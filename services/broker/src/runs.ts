import { AppError, forward, type Implementation } from "@sker/kit";
import type { BrokerServiceService } from "@sker/contracts/broker/v1/broker";
import type { TaskQueue } from "./queue/index.js";
import type { DispatchRelay } from "./relay.js";
import type { StoreTasks } from "./store-client.js";
import type { Catalog } from "./models/catalog.js";

// Graph runs through the broker: the store plans a run and decides which tasks are ready (and
// later, in CompleteTask, which became ready), writing each ready task's queue message (a
// dispatch row) with it; the broker's relay publishes them.

type Handlers = Pick<Implementation<typeof BrokerServiceService>, "startRun" | "cancelRun">;

export function runHandlers(store: StoreTasks, queue: TaskQueue, relay: Pick<DispatchRelay, "poke">, catalog: Catalog): Handlers {
  return {
    async startRun(req, ctx) {
      // Relayed like CreateTask: the store trusts the prices only from the broker, and holds the
      // run's estimate (every planned node at its model's rate) against the budgets.
      const { run, tasks } = await store.runs.createRun({ ...req, modelRates: catalog.ratesByAlias() }, forward(ctx, { token: await store.serviceToken(), onBehalfOf: ctx.token }));
      if (!run) throw new AppError("INTERNAL", "the store answered no run");
      if (tasks.length) relay.poke();
      return { run };
    },

    async cancelRun(req, ctx) {
      const { run, cancelledTaskIds } = await store.runs.cancelRun({ id: req.id }, forward(ctx));
      // Running attempts (on whichever broker) abort on this; their lease renewal would notice too.
      await Promise.all(cancelledTaskIds.map((id) => queue.broadcastCancel(id).catch((err: unknown) => ctx.log.warn({ err, taskId: id }, "cancel broadcast failed"))));
      return { run };
    },
  };
}

import { AppError, forward, isUuid, type Implementation, type Logger } from "@sker/kit";
import { BrokerServiceService } from "@sker/contracts/broker/v1/broker";
import { TaskStatus } from "@sker/contracts/store/v1/task";
import type { Catalog } from "./models/catalog.js";
import { estimateCost } from "./models/estimate.js";
import { priorityOfTask, type TaskQueue } from "./queue/index.js";
import type { BrokerAccess } from "./access.js";
import type { AdmissionGate } from "./admission.js";
import type { DispatchRelay } from "./relay.js";
import { runHandlers } from "./runs.js";
import type { StoreTasks } from "./store-client.js";
import { validateSubmit } from "./validate.js";

/** CreateTask's own budget; the gateway's deadline for the submission bounds it (submit-task.ts there). */
const SUBMIT_DEADLINE_MS = 30_000;

export interface ServiceDeps {
  admission: AdmissionGate;
  store: StoreTasks;
  queue: TaskQueue;
  relay: Pick<DispatchRelay, "poke">;
  catalog: Catalog;
  access: BrokerAccess;
  log: Logger;
}

/** What a submission naming no model would cost under each model offered, and the default. */
function offer(catalog: Catalog, prompt: string, maxTokens: number | undefined): { estimatedCostByModel: Record<string, number>; defaultModel: string } {
  const estimatedCostByModel: Record<string, number> = {};
  for (const alias of catalog.aliases()) estimatedCostByModel[alias] = estimateCost(catalog, alias, prompt, maxTokens);
  return { estimatedCostByModel, defaultModel: catalog.defaultModel };
}

/** BrokerService: the user's token is forwarded to the store, which checks tenancy (CreateTask is relayed: broker's token + the user's). */
export function brokerService(deps: ServiceDeps): Implementation<typeof BrokerServiceService> {
  const { store, queue } = deps;
  return {
    ...runHandlers(store, queue, deps.relay, deps.catalog),

    async submitTask(req, ctx) {
      validateSubmit(req);
      const { catalog } = deps;
      const asked = req.options?.model;
      if (asked && !catalog.has(asked)) throw new AppError("VALIDATION_ERROR", `options.model: unknown model "${asked}" (see GET /api/v1/ai/models)`, { field: "options.model" });
      // The alias is fixed at submission, so the reservation and every attempt agree on the
      // model even if settings change meanwhile. Named: priced here. Not named: the store picks
      // the project's default (settings.ai.model) or the deployment's from this offer, while it
      // checks the caller's role (no read of the project from here first).
      const options = { temperature: undefined, maxTokens: undefined, ...req.options, model: asked ?? "" };
      const pricing = asked
        ? { estimatedCostUsd: estimateCost(catalog, asked, req.prompt, options.maxTokens), estimatedCostByModel: {}, defaultModel: "" }
        : { estimatedCostUsd: 0, ...offer(catalog, req.prompt, options.maxTokens) };
      // In a burst, submissions take turns (deps.admission) within what is left of the
      // caller's deadline: a submission that waits answers late, not 503.
      const token = await store.serviceToken();
      const { task, created } = await deps.admission.run(() =>
        store.tasks.createTask({ ...req, options, ...pricing }, forward(ctx, { token, onBehalfOf: ctx.token, deadlineMs: SUBMIT_DEADLINE_MS })), ctx.signal,
      );
      if (!task) throw new AppError("INTERNAL", "the store answered no task");
      // The store wrote the task and its queue message (a dispatch row) in one transaction: an
      // answer means it will run, an error that it was not created. The relay publishes it.
      if (created) deps.relay.poke();
      return { task, created };
    },

    async cancelTask(req, ctx) {
      const { task } = await store.tasks.cancelTask({ id: req.id }, forward(ctx));
      if (task?.status === TaskStatus.TASK_STATUS_CANCELLED) {
        // The running attempt (on whichever broker) aborts on this; its lease renewal would notice too.
        await queue.broadcastCancel(task.id).catch((err: unknown) => ctx.log.warn({ err, taskId: task.id }, "cancel broadcast failed"));
      }
      return { task };
    },

    async getTask(req, ctx) {
      return store.tasks.getTask({ id: req.id }, forward(ctx));
    },

    async listModels(_req, ctx) {
      // The one user RPC that never reaches the store as the user: its account is checked here.
      await deps.access.requireUser(ctx);
      return { models: deps.catalog.list() };
    },

    async getQueueStats(_req, ctx) {
      await deps.access.requireAdmin(ctx);
      return queue.stats();
    },

    async replayDeadLetter(req, ctx) {
      await deps.access.requireAdmin(ctx);
      if (!isUuid(req.taskId)) throw new AppError("VALIDATION_ERROR", "taskId: must be a UUID", { field: "taskId" });
      // The store is the truth, the letter only a record: requeue the failed task first, remove
      // its letter last. A crash in between leaves a queued task (the reaper publishes it) and
      // a stale letter, never a failed task whose letter is gone.
      const requeued = await store.lifecycle.requeueTask({ id: req.taskId }, forward(ctx, { token: await store.serviceToken() })).catch(async (err: unknown) => {
        // Not failed (any more): a letter left by a crash mid-replay is stale; drop it.
        if (err instanceof AppError && err.code === "FAILED_PRECONDITION") await queue.takeDeadLetter(req.taskId).catch(() => undefined);
        throw err;
      });
      const { task } = requeued;
      if (!task) throw new AppError("INTERNAL", "the store answered no task");
      await queue.publish({ taskId: task.id, projectId: task.projectId }, priorityOfTask(task.priority));
      await queue.takeDeadLetter(task.id).catch((err: unknown) => ctx.log.warn({ err, taskId: task.id }, "replayed; its dead letter stays until the next replay"));
      return { task };
    },
  };
}

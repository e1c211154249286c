import { invalid, toProtoEnum, type Implementation } from "@sker/kit";
import type { TaskPriority, TaskServiceService } from "@sker/contracts/store/v1/task";
import type { StoreDeps } from "../deps.js";
import { TASK_PRIORITY } from "./map.js";
import { claimDispatches, deleteDispatches } from "./repo.js";

const MAX_CLAIM = 1_000;

/** The task queue's outbox, read by the brokers' relays (service token only). */
export function dispatchService(deps: StoreDeps): Pick<Implementation<typeof TaskServiceService>, "claimDispatches" | "ackDispatches"> {
  return {
    async claimDispatches(req) {
      if (!Number.isInteger(req.limit) || req.limit < 1 || req.limit > MAX_CLAIM) throw invalid("limit", `must be between 1 and ${MAX_CLAIM}`);
      if (!Number.isInteger(req.leaseMs) || req.leaseMs < 100 || req.leaseMs > 600_000) throw invalid("leaseMs", "must be between 100 and 600000");
      const rows = await claimDispatches(deps.db, req.limit, req.leaseMs);
      return {
        dispatches: rows.map((r) => ({
          id: Number(r.id),
          taskId: r.task_id,
          projectId: r.project_id,
          priority: toProtoEnum<TaskPriority>(r.priority, TASK_PRIORITY),
          reclaimed: r.reclaimed,
          traceparent: r.trace?.traceparent ?? "",
          tracestate: r.trace?.tracestate ?? "",
        })),
      };
    },

    async ackDispatches(req) {
      if (req.ids.length > MAX_CLAIM) throw invalid("ids", `at most ${MAX_CLAIM}`);
      if (!req.ids.every((id) => Number.isSafeInteger(id) && id > 0)) throw invalid("ids", "must be positive integers");
      await deleteDispatches(deps.db, req.ids);
      return {};
    },
  };
}

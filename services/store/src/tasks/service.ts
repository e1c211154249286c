import { AppError, invalid, notFound, type CallContext, type Implementation } from "@sker/kit";
import type { TaskServiceService } from "@sker/contracts/store/v1/task";
import type { Transaction } from "kysely";
import { requireRole, userOf } from "../authz.js";
import type { Database, Role, TaskRow } from "../db/schema.js";
import type { StoreDeps } from "../deps.js";
import { parseId } from "../input/ids.js";
import { pageOf } from "../input/page.js";
import { liveNodesIn } from "../nodes/repo.js";
import { admitOrRefuse } from "../usage/budget.js";
import { taskToProto } from "./map.js";
import { findByKey, findTask, listTasks } from "./repo.js";
import { enqueueTaskTx } from "./enqueue.js";
import { FINISHED, forgetTarget, lockTask, toCancelled } from "./transitions.js";
import { checkCreate, checkList } from "./validate.js";
import { checkModelChoice, choose, projectDefaultModel } from "./model-choice.js";
import { spendBeside, spentOnlyIfCreated } from "../limits/spent.js";

async function taskForRole(deps: StoreDeps, ctx: CallContext, id: string, min: Role): Promise<TaskRow> {
  const row = await findTask(deps.db, id);
  if (!row) throw notFound("task");
  await requireRole(deps, ctx, row.project_id, min, "task");
  return row;
}

type Trx = Transaction<Database>;

/** A retry names a finished-without-result task of the same project (else it is no retry). */
async function checkRetryOf(trx: Trx, id: string, projectId: string): Promise<void> {
  const earlier = await findTask(trx, id);
  if (!earlier || earlier.project_id !== projectId) throw invalid("retryOf", "must be a task of the same project");
  if (earlier.status !== "failed" && earlier.status !== "cancelled")
    throw new AppError("FAILED_PRECONDITION", `only a failed or cancelled task can be retried; this one is ${earlier.status}`, { status: earlier.status, field: "retryOf" });
}

/**
 * A repeated idempotency key answers the first task, but only within the project it was made
 * in: the key is per user, and the user may since have lost access to that first project.
 */
function sameKeyAnswer(earlier: Parameters<typeof taskToProto>[0], projectId: string) {
  if (earlier.project_id !== projectId) throw new AppError("CONFLICT", "this Idempotency-Key was used for a task of another project", { field: "idempotencyKey" });
  return { task: taskToProto(earlier), created: false };
}

/** What users do with tasks (through the gateway, or the broker acting for them on create). */
export function taskService(deps: StoreDeps): Pick<Implementation<typeof TaskServiceService>, "createTask" | "getTask" | "listTasks" | "cancelTask"> {
  return {
    async createTask(req, ctx) {
      const userId = userOf(ctx.caller);
      const input = checkCreate(req);
      const choice = checkModelChoice(req);
      // Side by side (one round trip, not four): the role, the task an idempotency key already
      // made, the project's default model when the broker left the model to us, and the
      // submission spent from the user's AI budget. The spend is given back when no task comes
      // of it, so a stranger or a repeated key costs nothing, and a repeated key is answered
      // its task even when the budget is used up (a retry of a submission whose answer was lost).
      const spend = spendBeside(deps, userId);
      let earlier: TaskRow | undefined;
      let projectModel: string | undefined;
      try {
        [, earlier, projectModel] = await Promise.all([
          requireRole(deps, ctx, input.projectId, "editor"),
          input.idempotencyKey ? findByKey(deps.db, userId, input.idempotencyKey) : undefined,
          choice ? projectDefaultModel(deps, input.projectId) : undefined,
        ]);
      } catch (err) {
        await spend.giveBack();
        throw err;
      }
      if (earlier) {
        await spend.giveBack();
        return sameKeyAnswer(earlier, input.projectId);
      }
      await spend.kept();
      if (choice) {
        const { model, estimatedCostUsd } = choose(choice, projectModel);
        input.options = { ...input.options, model };
        input.estimatedCostUsd = estimatedCostUsd;
      }
      const wanted = [...(input.nodeId ? [input.nodeId] : []), ...input.sourceNodeIds];
      // Always in a transaction, even when the insert is the only statement: an autocommit
      // statement commits before its answer leaves PostgreSQL, so a connection cut while it runs
      // leaves the task written behind a 503 (the PostgreSQL drill saw 2 in 256). With BEGIN and
      // COMMIT, a cut before COMMIT is sent rolls the task back; only the COMMIT's own round trip
      // is in doubt. The two statements are the price of "503 means not created".
      const row = await spentOnlyIfCreated(deps, userId, () => deps.db.transaction().execute(async (trx) => {
        if (wanted.length === 0 && !input.retryOf && !(input.estimatedCostUsd ?? 0)) return enqueueTaskTx(trx, input, userId);
        const live = new Set((await liveNodesIn(trx, input.projectId, wanted, { share: true })).map((n) => n.id));
        if (input.nodeId && !live.has(input.nodeId)) throw invalid("nodeId", "must be a live node of the project");
        input.sourceNodeIds.forEach((id, i) => {
          if (!live.has(id)) throw invalid(`sourceNodeIds[${i}]`, "must be a live node of the project");
        });
        if (input.retryOf) await checkRetryOf(trx, input.retryOf, input.projectId);
        await admitOrRefuse(trx, deps, input.projectId, userId, input.estimatedCostUsd ?? 0);
        return enqueueTaskTx(trx, input, userId);
      }));
      if (!row) {
        // Lost the race on the idempotency key: the winner has committed, answer its task.
        const earlier = await findByKey(deps.db, userId, input.idempotencyKey!);
        if (!earlier) throw new AppError("UNAVAILABLE", "idempotent task vanished; retry");
        return sameKeyAnswer(earlier, input.projectId);
      }
      deps.afterCommit();
      return { task: taskToProto(row), created: true };
    },

    async getTask(req, ctx) {
      return { task: taskToProto(await taskForRole(deps, ctx, parseId("id", req.id), "viewer")) };
    },

    async listTasks(req, ctx) {
      const filter = checkList(req);
      await requireRole(deps, ctx, filter.projectId, "viewer");
      const { items, nextCursor } = pageOf(await listTasks(deps.db, filter), filter.page.limit);
      return { tasks: items.map(taskToProto), nextCursor };
    },

    async cancelTask(req, ctx) {
      const id = parseId("id", req.id);
      await taskForRole(deps, ctx, id, "editor");
      const row = await deps.db.transaction().execute(async (trx) => {
        const task = await lockTask(trx, id);
        if (FINISHED.has(task.status)) throw new AppError("FAILED_PRECONDITION", `task is already ${task.status}`, { status: task.status });
        return toCancelled(trx, task, userOf(ctx.caller));
      });
      deps.afterCommit();
      await forgetTarget(deps, row);
      return { task: taskToProto(row) };
    },
  };
}

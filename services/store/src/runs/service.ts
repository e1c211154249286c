import { AppError, invalid, notFound, type CallContext, type Implementation } from "@sker/kit";
import type { RunServiceService } from "@sker/contracts/store/v1/run";
import type { Transaction } from "kysely";
import { requireRole, userOf } from "../authz.js";
import type { Database, Role, RunRow } from "../db/schema.js";
import type { StoreDeps } from "../deps.js";
import { appendEvent } from "../events/append.js";
import { payload } from "../events/payload.js";
import { forgetNodes } from "../nodes/cache.js";
import { nowMs } from "../db/sql.js";
import { pageOf } from "../input/page.js";
import { parseId } from "../input/ids.js";
import { taskToProto } from "../tasks/map.js";
import { rewritesNode } from "../tasks/node-status.js";
import { toCancelled } from "../tasks/transitions.js";
import { advanceRun, setNodeState } from "./advance.js";
import { runToProto } from "./map.js";
import { planRun } from "./plan.js";
import { aiNodesOfProject, contentVersions, findRun, inputLinksOfProject, insertRun, insertRunNodes, listRuns, lockOpenTasksOfRun, runNodesOf, setRun } from "./repo.js";
import { checkCreateRun, checkListRuns } from "./validate.js";
import { nodeEstimate } from "./estimate.js";
import { admitOrRefuse } from "../usage/budget.js";
import { spentOnlyIfCreated } from "../limits/spent.js";

type Trx = Transaction<Database>;

async function runForRole(deps: StoreDeps, ctx: CallContext, id: string, min: Role): Promise<RunRow> {
  const run = await findRun(deps.db, id);
  if (!run) throw notFound("run");
  await requireRole(deps, ctx, run.project_id, min, "run");
  return run;
}

/**
 * Plans the run and writes it with its nodes pending, each with its estimate; a cycle refuses the
 * whole run, and so does a total estimate the project's or the user's budget cannot hold.
 */
async function planAndInsert(trx: Trx, deps: StoreDeps, input: ReturnType<typeof checkCreateRun>, userId: string): Promise<RunRow> {
  const ai = await aiNodesOfProject(trx, input.projectId);
  const known = new Set(ai.map((n) => n.id));
  input.targets.forEach((id, i) => {
    if (!known.has(id)) throw invalid(`targets[${i}]`, "must be a live AI node (one with a recipe) of the project");
  });
  if (ai.length === 0) throw invalid("targets", "the project has no AI nodes (nodes with a recipe) to run");
  const plan = planRun(
    ai.map((n) => ({ id: n.id, createdAt: n.created_at })),
    await inputLinksOfProject(trx, input.projectId),
    input.targets,
  );
  if (!plan.ok) {
    const title = new Map(ai.map((n) => [n.id, n.title]));
    const names = plan.cycle.map((id) => `"${title.get(id) || id}" (${id})`);
    throw new AppError("VALIDATION_ERROR", `targets: the AI nodes form a cycle: ${[...names, names[0]].join(" → ")}`, { field: "targets", cycle: plan.cycle });
  }
  const versions = await contentVersions(
    trx,
    plan.order.map((n) => n.id),
  );
  const recipes = new Map(ai.map((n) => [n.id, n.recipe]));
  const estimates = new Map(plan.order.map((n) => [n.id, nodeEstimate(recipes.get(n.id) ?? null, input.rates)]));
  await admitOrRefuse(trx, deps, input.projectId, userId, [...estimates.values()].reduce((a, b) => a + b, 0));
  const run = await insertRun(trx, { ...input, userId });
  await insertRunNodes(
    trx,
    plan.order.map((n, ord) => ({ run_id: run.id, node_id: n.id, ord, depends_on: n.dependsOn, base_version: versions.get(n.id) ?? 0, estimated_cost_usd: estimates.get(n.id)! })),
  );
  await appendEvent(trx, run.project_id, "run.started", payload.run(run, await runNodesOf(trx, [run.id])), { userId });
  return run;
}

export function runService(deps: StoreDeps): Implementation<typeof RunServiceService> {
  const answer = async (run: RunRow) => runToProto(run, await runNodesOf(deps.db, [run.id]));

  return {
    async createRun(req, ctx) {
      const input = checkCreateRun(req);
      const userId = userOf(ctx.caller);
      await requireRole(deps, ctx, input.projectId, "editor");
      // A run is one submission of the user's AI budget; the tasks it spawns are not counted again.
      await deps.aiLimit.spend(userId);
      const out = await spentOnlyIfCreated(deps, userId, () => deps.db.transaction().execute(async (trx) => {
        const run = await planAndInsert(trx, deps, input, userId);
        const tasks = await advanceRun(trx, run);
        return { run: (await findRun(trx, run.id))!, tasks };
      }));
      deps.afterCommit();
      return { run: await answer(out.run), tasks: out.tasks.map(taskToProto) };
    },

    async getRun(req, ctx) {
      return { run: await answer(await runForRole(deps, ctx, parseId("id", req.id), "viewer")) };
    },

    async listRuns(req, ctx) {
      const { projectId, page } = checkListRuns(req);
      await requireRole(deps, ctx, projectId, "viewer");
      const { items, nextCursor } = pageOf(await listRuns(deps.db, projectId, page), page.limit);
      const nodes = await runNodesOf(
        deps.db,
        items.map((r) => r.id),
      );
      return { runs: items.map((r) => runToProto(r, nodes.filter((n) => n.run_id === r.id))), nextCursor };
    },

    async cancelRun(req, ctx) {
      const id = parseId("id", req.id);
      await runForRole(deps, ctx, id, "editor");
      const out = await deps.db.transaction().execute(async (trx) => {
        // Tasks first, then the run: the order CompleteTask takes them in, so the two never deadlock.
        await lockOpenTasksOfRun(trx, id);
        const run = (await findRun(trx, id, { lock: true }))!;
        if (run.status !== "running") throw new AppError("FAILED_PRECONDITION", `run is already ${run.status}`, { status: run.status });
        // Again under the run's lock: a task that finished meanwhile may have queued new ones.
        const tasks = await lockOpenTasksOfRun(trx, id);
        const touched: string[] = [];
        for (const task of tasks) {
          await toCancelled(trx, task, userOf(ctx.caller), { moveRun: false });
          if (rewritesNode(task)) touched.push(task.node_id!);
        }
        for (const rn of await runNodesOf(trx, [id])) {
          if (["pending", "queued", "running"].includes(rn.state)) await setNodeState(trx, run, rn.node_id, { state: "cancelled" });
        }
        const done = await setRun(trx, id, { status: "cancelled", finished_at: nowMs });
        await appendEvent(trx, run.project_id, "run.finished", payload.run(done, await runNodesOf(trx, [id])), { userId: userOf(ctx.caller) });
        return { run: done, cancelled: tasks.map((t) => t.id), touched };
      });
      deps.afterCommit();
      await forgetNodes(deps, out.touched);
      return { run: await answer(out.run), cancelledTaskIds: out.cancelled };
    },
  };
}

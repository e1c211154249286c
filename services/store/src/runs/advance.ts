import type { Transaction } from "kysely";
import type { Database, RunNodeRow, RunNodeState, RunRow, StoredRecipe, TaskRow } from "../db/schema.js";
import { appendEvent } from "../events/append.js";
import { payload } from "../events/payload.js";
import { nowMs } from "../db/sql.js";
import { findNode } from "../nodes/repo.js";
import { enqueueTaskTx } from "../tasks/enqueue.js";
import { nodeHash } from "./hash.js";
import { editedSinceRunStarted } from "./output.js";
import { contentVersions, findRun, inputsOf, runNodesOf, setRun, setRunNode } from "./repo.js";

// A run moves forward inside the transactions that finish its tasks: the one that completes a
// node's task also queues the nodes that were waiting only for it. No process holds a run's
// state, so a broker that dies mid-run loses nothing; whoever finishes the next task moves it on.
// The run row is locked first, so two tasks finishing at once advance the run one after the other.

type Trx = Transaction<Database>;

const DONE: RunNodeState[] = ["completed", "cached"];
const BROKEN: RunNodeState[] = ["failed", "skipped", "cancelled"];
const TERMINAL = [...DONE, ...BROKEN];
/** Inputs each recipe type needs before it can run. */
const MIN_INPUTS: Record<StoredRecipe["type"], number> = { generate: 0, optimize: 1, expand: 1, analyze: 1, fusion: 2 };

export async function setNodeState(trx: Trx, run: RunRow, nodeId: string, set: Partial<Pick<RunNodeRow, "state" | "task_id" | "hash" | "error_code" | "error_message">>, onlyFrom?: RunNodeState[]) {
  const row = await setRunNode(trx, run.id, nodeId, set, onlyFrom);
  if (row) await appendEvent(trx, run.project_id, "run.node", payload.runNode(row), { userId: run.created_by });
  return row;
}

/** Queues the node's task, or marks it cached when its hash says nothing changed. */
async function startNode(trx: Trx, run: RunRow, rn: RunNodeRow): Promise<{ state: RunNodeState; task?: TaskRow }> {
  const node = await findNode(trx, rn.node_id);
  if (!node || !node.recipe) {
    const why = node ? "the node no longer has a recipe" : "the node was deleted";
    await setNodeState(trx, run, rn.node_id, { state: "failed", error_code: "NODE_NOT_FOUND", error_message: why });
    return { state: "failed" };
  }
  // Edited by someone since the run began: theirs stays, and no provider call is spent on it.
  const current = (await contentVersions(trx, [node.id])).get(node.id) ?? 0;
  if (current !== rn.base_version) {
    await setNodeState(trx, run, rn.node_id, { state: "failed", ...editedSinceRunStarted(current) });
    return { state: "failed" };
  }
  const recipe = node.recipe;
  const inputs = await inputsOf(trx, run.project_id, node.id);
  if (inputs.length < MIN_INPUTS[recipe.type]) {
    const message = `a ${recipe.type} recipe needs at least ${MIN_INPUTS[recipe.type]} input(s) linked by input or dependency connections`;
    await setNodeState(trx, run, rn.node_id, { state: "failed", error_code: "NOT_ENOUGH_INPUTS", error_message: message });
    return { state: "failed" };
  }
  const hash = nodeHash(recipe, inputs);
  if (!run.force && node.run_hash === hash) {
    await setNodeState(trx, run, rn.node_id, { state: "cached", hash });
    return { state: "cached" };
  }
  const task = await enqueueTaskTx(
    trx,
    {
      projectId: run.project_id,
      type: recipe.type,
      nodeId: node.id,
      sourceNodeIds: inputs.map((n) => n.id),
      prompt: recipe.prompt ?? "",
      options: recipe.options ?? {},
      priority: "normal",
      idempotencyKey: null,
      retryOf: null,
      // The node's share of the run's estimate: the task holds it from here on.
      estimatedCostUsd: rn.estimated_cost_usd,
    },
    run.created_by,
    run.id,
  );
  await setNodeState(trx, run, rn.node_id, { state: "queued", task_id: task!.id, hash });
  return { state: "queued", task };
}

/**
 * One pass in topological order: a pending node whose inputs are all done starts (or is
 * cached, which may free the next one in the same pass); one with a broken input is skipped.
 * When every node is finished, so is the run. Answers the tasks queued, for the broker to publish.
 */
export async function advanceRun(trx: Trx, run: RunRow): Promise<TaskRow[]> {
  if (run.status !== "running") return [];
  const nodes = await runNodesOf(trx, [run.id]);
  const state = new Map(nodes.map((n) => [n.node_id, n.state]));
  const spawned: TaskRow[] = [];
  for (const rn of nodes) {
    if (state.get(rn.node_id) !== "pending") continue;
    const deps = rn.depends_on.map((d) => state.get(d) ?? "completed");
    if (deps.some((s) => BROKEN.includes(s))) {
      await setNodeState(trx, run, rn.node_id, { state: "skipped" });
      state.set(rn.node_id, "skipped");
    } else if (deps.every((s) => DONE.includes(s))) {
      const { state: now, task } = await startNode(trx, run, rn);
      state.set(rn.node_id, now);
      if (task) spawned.push(task);
    }
  }
  const states = [...state.values()];
  if (states.every((s) => TERMINAL.includes(s))) {
    const status = states.some((s) => s === "failed" || s === "cancelled") ? "failed" : "completed";
    const done = await setRun(trx, run.id, { status, finished_at: nowMs });
    await appendEvent(trx, run.project_id, "run.finished", payload.run(done, await runNodesOf(trx, [run.id])), { userId: run.created_by });
  }
  return spawned;
}

/** A run task finished (completed, failed or cancelled): record the node's state and move the run on. */
export async function taskFinished(trx: Trx, task: TaskRow, state: "completed" | "failed" | "cancelled"): Promise<TaskRow[]> {
  if (!task.run_id) return [];
  const run = await findRun(trx, task.run_id, { lock: true });
  if (!run || run.status !== "running") return [];
  await setNodeState(
    trx,
    run,
    task.node_id!,
    { state, error_code: state === "completed" ? null : task.error_code, error_message: state === "completed" ? null : task.error_message },
    ["queued", "running"],
  );
  return advanceRun(trx, run);
}

/** A run task's attempt began. */
export async function taskStarted(trx: Trx, task: TaskRow): Promise<void> {
  if (!task.run_id) return;
  const run = await findRun(trx, task.run_id);
  if (run?.status === "running") await setNodeState(trx, run, task.node_id!, { state: "running" }, ["queued"]);
}

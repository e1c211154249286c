import type { StartTaskResponse, Task } from "@sker/contracts/store/v1/task";
import type { Catalog } from "../models/catalog.js";
import type { ProviderRequest, TaskKind } from "../providers/index.js";
import type { Attempt } from "./attempt.js";
import { toItem } from "./context.js";
import { route } from "./route.js";
import type { WorkerDeps } from "./run-task.js";

/** The task's model alias; one the models file no longer has runs on the default model. */
const aliasOf = (task: Task, catalog: Catalog): string => (task.options?.model && catalog.has(task.options.model) ? task.options.model : catalog.defaultModel);

function requestOf(task: Task, started: StartTaskResponse, type: TaskKind): ProviderRequest {
  return {
    type,
    prompt: task.prompt,
    // The store already cut the context to the prompt budget (AI_CONTEXT_TOKENS, or less: what the model takes in).
    target: started.node ? toItem(started.node) : undefined,
    context: started.context.map(toItem),
    temperature: task.options?.temperature,
    maxTokens: task.options?.maxTokens,
  };
}

/**
 * The run step: the task's model, then its fallbacks, streaming deltas as progress. Throws the
 * last call's error when no model answered; the attempt's calls are on `attempt.calls` either way.
 */
export async function callModels(deps: WorkerDeps, attempt: Attempt) {
  const { catalog, metrics } = deps;
  const { task, started, progress, elapsed } = attempt;
  let first = true;
  let current = "";
  // Each call has its own timeout (the provider's timeoutMs, AI_TASK_TIMEOUT by default), so a
  // provider that hangs moves the task to the next model instead of ending the attempt.
  const routed = await route(
    { catalog, providers: deps.providers, metrics, onModel: (alias) => (current = catalog.provider(alias).name) },
    aliasOf(task, catalog),
    requestOf(task, started, attempt.type),
    (delta) => {
      if (first) metrics.providerLatency.observe({ provider: current, phase: "first_token" }, elapsed());
      first = false;
      progress.push(delta);
    },
    attempt.abort.signal,
  );
  attempt.calls = routed.calls;
  if (!routed.ok) throw routed.error;
  metrics.providerLatency.observe({ provider: current, phase: "total" }, elapsed());
  return { alias: routed.alias, result: routed.result };
}

import type { BusEvent, CallOptions, Logger } from "@sker/kit";
import { publicError } from "../plugins/errors.js";
import type { Clients } from "../clients.js";
import * as map from "../rest/map.js";
import { submitTask as submitRequest } from "../rest/requests/tasks.js";
import type { TaskBody } from "../rest/schemas/tasks.js";
import { submitTask } from "../rest/submit-task.js";
import type { ProjectHub } from "./hub.js";
import type { Send } from "./sender.js";

type TaskData = { id?: string; status?: string; nodeId?: string | null; resultNodeId?: string | null; result?: unknown; error?: { code?: string; message?: string } | null };

/**
 * AI_GENERATE_REQUEST over the task API: SubmitTask through the broker, then the task's events
 * (task.started, task.progress, task.completed/failed/cancelled) become AI_GENERATE_PROGRESS,
 * RESPONSE or ERROR for the socket that asked. The project is bound on the bus before the
 * submit, and events that arrive before the broker answers are held, so none is missed.
 */
export async function runAiGenerate(opts: {
  requestId: string;
  body: TaskBody;
  idempotencyKey?: string;
  hub: ProjectHub;
  clients: Clients;
  call: CallOptions;
  send: Send;
  log: Logger;
  /** Registers a cleanup to run if the socket closes first. */
  track: (stop: () => Promise<void>) => () => void;
}): Promise<void> {
  const { requestId, send } = opts;
  let taskId: string | undefined;
  const early: BusEvent[] = [];
  let done = false;
  let untrack = () => {};
  let unlisten: (() => Promise<void>) | undefined;

  const finish = async () => {
    done = true;
    untrack();
    await unlisten?.();
  };

  const onEvent = (e: BusEvent) => {
    if (done) return;
    if (!taskId) return void early.push(e);
    const data = (e.data ?? {}) as TaskData & { taskId?: string; delta?: string; index?: number };
    if (e.name === "task.progress") {
      if (data.taskId === taskId) send({ type: "AI_GENERATE_PROGRESS", requestId, taskId, stage: "generating", delta: data.delta ?? "", index: data.index ?? 0 });
      return;
    }
    if (!e.name.startsWith("task.") || data.id !== taskId) return;
    settle(e.name.slice(5), data);
  };

  const settle = (status: string, t: TaskData) => {
    if (status === "completed") {
      send({ type: "AI_GENERATE_RESPONSE", requestId, taskId, nodeId: t.resultNodeId ?? t.nodeId ?? null, result: t.result ?? null });
      void finish();
    } else if (status === "failed" || status === "cancelled") {
      const error = status === "cancelled" ? { code: "CANCELLED", message: "the task was cancelled" } : { code: t.error?.code || "TASK_FAILED", message: t.error?.message || "the task failed" };
      send({ type: "AI_GENERATE_ERROR", requestId, taskId, error });
      void finish();
    } else if (status === "started" || status === "running" || status === "queued") {
      send({ type: "AI_GENERATE_PROGRESS", requestId, taskId, stage: status === "started" ? "running" : status });
    }
  };

  try {
    const req = submitRequest(opts.body, opts.idempotencyKey);
    unlisten = await opts.hub.add(opts.body.projectId, onEvent);
    untrack = opts.track(finish);
    const res = await submitTask(opts.clients, req, opts.call);
    const task = map.task(res.task)!;
    taskId = task.id;
    settle(task.status ?? "queued", task as TaskData);
    for (const e of early.splice(0)) onEvent(e);
  } catch (err) {
    send({ type: "AI_GENERATE_ERROR", requestId, ...(taskId ? { taskId } : {}), error: publicError(err, opts.log, opts.call.requestId ?? requestId) });
    await finish();
  }
}

import { channelPool, promiseClient, type Metrics, type PromiseClient, type Tokens } from "@sker/kit";
import { RunServiceService } from "@sker/contracts/store/v1/run";
import { TaskServiceService } from "@sker/contracts/store/v1/task";
import { ProjectServiceService } from "@sker/contracts/store/v1/project";

export type TaskClient = PromiseClient<typeof TaskServiceService>;

/** The store's TaskService and RunService, plus the broker's own service token for the worker-side RPCs. */
export function storeTasks(addr: string, deadlineMs: number, tokens: Tokens, metrics: Metrics, maxMessageBytes?: number) {
  const pool = channelPool(addr, 3, maxMessageBytes);
  const tasks: TaskClient = promiseClient(TaskServiceService, pool, { deadlineMs, metrics });
  return {
    tasks,
    pool,
    /** Graph runs: CreateRun and CancelRun act for the forwarded user. */
    runs: promiseClient(RunServiceService, pool, { deadlineMs, metrics }),
    /** Read for a project's default model at submission (the user's token). */
    projects: promiseClient(ProjectServiceService, pool, { deadlineMs, metrics }),
    /** StartTask, RenewLease, CompleteTask, FailTask and ReclaimTasks take the broker's token; CreateTask takes it plus the user's (onBehalfOf). */
    serviceToken: () => tokens.service("broker"),
    close: () => pool.close(),
  };
}

export type StoreTasks = ReturnType<typeof storeTasks>;

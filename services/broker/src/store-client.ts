import { channelPool, promiseClient, type Metrics, type PromiseClient, type Tokens } from "@sker/kit";
import { RunServiceService } from "@sker/contracts/store/v1/run";
import { TaskLifecycleServiceService, TaskServiceService } from "@sker/contracts/store/v1/task";

export type TaskClient = PromiseClient<typeof TaskServiceService>;

/** The store's TaskService, TaskLifecycleService and RunService, plus the broker's own service token for the lifecycle. */
export function storeTasks(addr: string, deadlineMs: number, tokens: Tokens, metrics: Metrics, maxMessageBytes?: number) {
  const pool = channelPool(addr, 3, maxMessageBytes);
  const tasks: TaskClient = promiseClient(TaskServiceService, pool, { deadlineMs, metrics });
  return {
    /** A user's tasks: CreateTask takes the broker's token plus the user's (onBehalfOf); Get and Cancel the user's. */
    tasks,
    /** Start, renew, complete, fail, reclaim, requeue and the dispatch outbox: the broker's token. */
    lifecycle: promiseClient(TaskLifecycleServiceService, pool, { deadlineMs, metrics }),
    pool,
    /** Graph runs: CreateRun and CancelRun act for the forwarded user. */
    runs: promiseClient(RunServiceService, pool, { deadlineMs, metrics }),
    serviceToken: () => tokens.service("broker"),
    close: () => pool.close(),
  };
}

export type StoreTasks = ReturnType<typeof storeTasks>;

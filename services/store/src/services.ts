import { bind, onEach, relayedBy, serviceOnly, type HandlerKit, type ServiceBinding } from "@sker/kit";
import { UserServiceService } from "@sker/contracts/store/v1/user";
import { ProjectServiceService } from "@sker/contracts/store/v1/project";
import { NodeServiceService } from "@sker/contracts/store/v1/node";
import { NodeServiceWithJsonPages } from "@sker/contracts/json-page";
import { ConnectionServiceService } from "@sker/contracts/store/v1/connection";
import { TaskLifecycleServiceService, TaskServiceService } from "@sker/contracts/store/v1/task";
import { EventServiceService } from "@sker/contracts/store/v1/event";
import { CollabServiceService } from "@sker/contracts/store/v1/collab";
import { RunServiceService } from "@sker/contracts/store/v1/run";
import { UsageServiceService } from "@sker/contracts/store/v1/usage";
import type { StoreDeps } from "./deps.js";
import { userService } from "./users/service.js";
import { projectService } from "./projects/service.js";
import { nodeService } from "./nodes/service.js";
import { connectionService } from "./connections/service.js";
import { taskService } from "./tasks/service.js";
import { taskLifecycleService } from "./tasks/lifecycle.js";
import { Gate, gated } from "./tasks/pipeline-gate.js";
import { eventService } from "./events/service.js";
import { collabService } from "./collab/service.js";
import { runService } from "./runs/service.js";
import { usageService } from "./usage/service.js";

/** Every store service, in one list: the server binds these, the tenancy test walks them. */
export const STORE_SERVICES = {
  "sker.store.v1.UserService": UserServiceService,
  "sker.store.v1.ProjectService": ProjectServiceService,
  "sker.store.v1.NodeService": NodeServiceService,
  "sker.store.v1.ConnectionService": ConnectionServiceService,
  "sker.store.v1.TaskService": TaskServiceService,
  "sker.store.v1.TaskLifecycleService": TaskLifecycleServiceService,
  "sker.store.v1.EventService": EventServiceService,
  "sker.store.v1.CollabService": CollabServiceService,
  "sker.store.v1.RunService": RunServiceService,
  "sker.store.v1.UsageService": UsageServiceService,
} as const;

/** Half the pool for the task pipeline's heavy calls, the rest for users (see Gate). */
const pipelineGate = (deps: StoreDeps) => new Gate(Math.max(1, Math.floor((deps.config.dbPoolSize ?? 10) / 2)));

export function storeBindings(deps: StoreDeps, kit: HandlerKit): ServiceBinding[] {
  // Who may call what, beyond a valid token: the account lifecycle is the gateway's (it holds no
  // user token yet), the task lifecycle the broker's, and AI work is created only through the
  // broker's checks (a user's call it relays). Tenancy is checked inside, per resource.
  const gateway = [serviceOnly("gateway")];
  const broker = [serviceOnly("broker")];
  const lifecycle = gated(taskLifecycleService(deps), ["startTask", "completeTask", "failTask"], pipelineGate(deps));
  return [
    bind("sker.store.v1.UserService", UserServiceService, userService(deps), kit, {
      methods: {
        register: gateway,
        login: gateway,
        refresh: gateway,
        logout: gateway,
        verifyApiKey: gateway,
        requestPasswordReset: gateway,
        confirmPasswordReset: gateway,
        verifyEmail: gateway,
      },
    }),
    bind("sker.store.v1.ProjectService", ProjectServiceService, projectService(deps), kit),
    bind("sker.store.v1.NodeService", NodeServiceWithJsonPages, nodeService(deps), kit),
    bind("sker.store.v1.ConnectionService", ConnectionServiceService, connectionService(deps), kit),
    // TaskService still answers the lifecycle RPCs that moved (deprecated): a broker of the
    // previous release calls them there during a rolling upgrade.
    bind("sker.store.v1.TaskService", TaskServiceService, { ...taskService(deps), ...lifecycle }, kit, {
      methods: { createTask: [relayedBy("broker")], ...onEach(lifecycle, broker) },
    }),
    bind("sker.store.v1.TaskLifecycleService", TaskLifecycleServiceService, lifecycle, kit, { interceptors: broker }),
    bind("sker.store.v1.EventService", EventServiceService, eventService(deps), kit),
    bind("sker.store.v1.CollabService", CollabServiceService, collabService(deps), kit),
    // CreateRun too: the broker sends the prices a run's estimate (held against the budgets) is made at.
    bind("sker.store.v1.RunService", RunServiceService, runService(deps), kit, { methods: { createRun: [relayedBy("broker")] } }),
    bind("sker.store.v1.UsageService", UsageServiceService, usageService(deps), kit),
  ];
}

// The REST (and database) spelling of every protobuf enum: "NODE_STATUS_IDLE" → "idle". Derived
// from the generated enums, so a value added to a .proto reaches the gateway's schemas, the
// OpenAPI document and the store's checks without being copied by hand.
import { Role } from "./gen/sker/common/v1/common.js";
import { ConnectionType } from "./gen/sker/store/v1/connection.js";
import { ChangeType, NodeStatus } from "./gen/sker/store/v1/node.js";
import { ProjectStatus } from "./gen/sker/store/v1/project.js";
import { RunNodeState, RunStatus } from "./gen/sker/store/v1/run.js";
import { TaskPriority, TaskStatus, TaskType } from "./gen/sker/store/v1/task.js";

function restValues(e: Record<string, string>, prefix: string): readonly string[] {
  return Object.values(e)
    .filter((v) => v.startsWith(prefix) && v !== `${prefix}UNSPECIFIED`)
    .map((v) => v.slice(prefix.length).toLowerCase());
}

export const ENUMS = {
  projectStatus: restValues(ProjectStatus, "PROJECT_STATUS_"),
  role: restValues(Role, "ROLE_"),
  nodeStatus: restValues(NodeStatus, "NODE_STATUS_"),
  changeType: restValues(ChangeType, "CHANGE_TYPE_"),
  connectionType: restValues(ConnectionType, "CONNECTION_TYPE_"),
  taskType: restValues(TaskType, "TASK_TYPE_"),
  taskStatus: restValues(TaskStatus, "TASK_STATUS_"),
  priority: restValues(TaskPriority, "TASK_PRIORITY_"),
  runStatus: restValues(RunStatus, "RUN_STATUS_"),
  runNodeState: restValues(RunNodeState, "RUN_NODE_STATE_"),
} as const;

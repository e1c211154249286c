import { toProtoEnum } from "@sker/kit";
import type { Run, RunNode, RunNodeState, RunStatus } from "@sker/contracts/store/v1/run";
import type { RunNodeRow, RunRow } from "../db/schema.js";

export const RUN_STATUS = "RUN_STATUS_";
export const RUN_NODE_STATE = "RUN_NODE_STATE_";

const errorOf = (n: RunNodeRow) => (n.error_code ? { code: n.error_code, message: n.error_message ?? "" } : undefined);

export function runToProto(run: RunRow, nodes: RunNodeRow[]): Run {
  return {
    id: run.id,
    projectId: run.project_id,
    status: toProtoEnum<RunStatus>(run.status, RUN_STATUS),
    targets: run.targets,
    force: run.force,
    nodes: nodes.map(runNodeToProto),
    createdBy: run.created_by,
    createdAt: run.created_at,
    finishedAt: run.finished_at ?? undefined,
  };
}

export function runNodeToProto(n: RunNodeRow): RunNode {
  return {
    nodeId: n.node_id,
    state: toProtoEnum<RunNodeState>(n.state, RUN_NODE_STATE),
    taskId: n.task_id ?? "",
    error: errorOf(n),
    dependsOn: n.depends_on,
  };
}

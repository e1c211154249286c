import type { EventPayload } from "@sker/contracts/store/v1/event";
import type { ConnectionRow, NodeRow, ProjectRow, RunNodeRow, RunRow, TaskRow } from "../db/schema.js";
import { connectionToProto } from "../connections/map.js";
import { nodeToProto } from "../nodes/map.js";
import { memberToProto, projectToProto, type MemberView } from "../projects/map.js";
import { runNodeToProto, runToProto } from "../runs/map.js";
import { taskToProto } from "../tasks/map.js";

/** What an event carries: the resource as its proto message (the gateway renders it for clients). */
export type Resource = NonNullable<EventPayload["resource"]>;

export const payload = {
  node: (row: NodeRow): Resource => ({ $case: "node", value: nodeToProto(row) }),
  connection: (row: ConnectionRow): Resource => ({ $case: "connection", value: connectionToProto(row) }),
  task: (row: TaskRow): Resource => ({ $case: "task", value: taskToProto(row) }),
  /** Without the role: that is each reader's own. */
  project: (row: ProjectRow): Resource => ({ $case: "project", value: projectToProto(row) }),
  /** Without the email: every subscriber sees events, and emails are for owners. */
  member: (m: MemberView): Resource => ({ $case: "member", value: { ...memberToProto(m), email: "" } }),
  memberRemoved: (projectId: string, userId: string): Resource => ({ $case: "memberRemoved", value: { projectId, userId } }),
  deleted: (id: string): Resource => ({ $case: "deleted", value: { id } }),
  run: (run: RunRow, nodes: RunNodeRow[]): Resource => ({ $case: "run", value: runToProto(run, nodes) }),
  runNode: (n: RunNodeRow): Resource => ({ $case: "runNode", value: { runId: n.run_id, node: runNodeToProto(n) } }),
  budgetWarning: (value: { projectId: string; scope: string; budget: number; spent: number; percent: number; resetsAt: Date }): Resource => ({
    $case: "budgetWarning",
    value,
  }),
};

import { Type } from "typebox";
import { ENUMS } from "@sker/contracts/enums";
import { LIMITS } from "@sker/contracts/limits";
import { closed, enumOut, nstr, open, opt, time, uuid } from "./common.js";
import { taskError } from "./tasks.js";

// Graph runs: the AI nodes of a project run in dependency order.

export const Run = open({
  id: { type: "string" },
  projectId: { type: "string" },
  status: enumOut(ENUMS.runStatus),
  targets: { type: "array", items: { type: "string" } },
  force: { type: "boolean" },
  nodes: {
    type: "array",
    items: open({ nodeId: { type: "string" }, state: enumOut(ENUMS.runNodeState), taskId: nstr, error: taskError, dependsOn: { type: "array", items: { type: "string" } } }),
  },
  createdBy: { type: "string" },
  createdAt: time,
  finishedAt: time,
});

export const startRun = closed({ targets: opt(Type.Array(uuid, { maxItems: LIMITS.run.targets, uniqueItems: true })), force: opt(Type.Boolean()) });

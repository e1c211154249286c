import type { Static } from "typebox";
import type { StartRunRequest } from "@sker/contracts/broker/v1/broker";
import type * as schema from "../schemas/runs.js";

// REST → proto for the graph run routes.

/** No body runs every AI node of the project. */
export const startRun = (projectId: string, b: Static<typeof schema.startRun> | undefined): StartRunRequest => ({ projectId, targets: b?.targets ?? [], force: b?.force ?? false });

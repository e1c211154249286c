import type { Implementation } from "@sker/kit";
import type { CollabServiceService } from "@sker/contracts/store/v1/collab";
import type { StoreDeps } from "../deps.js";
import { listActivity } from "./activity.js";
import { searchNodes } from "./search.js";
import { duplicateProject, exportProject, importProject } from "./transfer.js";

/** Search, activity, export/import and duplicate (issue 12). */
export function collabService(deps: StoreDeps): Implementation<typeof CollabServiceService> {
  return {
    search: (req, ctx) => searchNodes(deps, req, ctx),
    listActivity: (req, ctx) => listActivity(deps, req, ctx),
    exportProject: (req, ctx) => exportProject(deps, req, ctx),
    importProject: (req, ctx) => importProject(deps, req, ctx),
    duplicateProject: (req, ctx) => duplicateProject(deps, req, ctx),
  };
}

import type { Static } from "typebox";
import type { DuplicateProjectRequest, ExportProjectRequest, ImportProjectRequest, SearchRequest } from "@sker/contracts/store/v1/collab";
import type * as schema from "../schemas/collab.js";
import { SEARCH_PAGE } from "../schemas/collab.js";
import { page } from "./common.js";

// REST → proto for search, export/import and duplicate.

export const search = (q: Static<typeof schema.searchQuery>): SearchRequest => ({ query: q.q, projectId: q.projectId ?? "", page: page(q, SEARCH_PAGE.default) });

export const exportProject = (projectId: string, q: Static<typeof schema.exportQuery>): ExportProjectRequest => ({
  projectId,
  format: q.format ?? "jsoncanvas",
  includeVersions: q.versions ?? false,
});

/** Without ?format the file says: a sker file names itself, anything else is JSON Canvas. */
export const importProject = (q: Static<typeof schema.importQuery>, file: Static<typeof schema.importBody>): ImportProjectRequest => ({
  format: q.format ?? (file.format === "sker" ? "sker" : "jsoncanvas"),
  document: JSON.stringify(file),
  name: q.name ?? "",
});

/** The body is optional: no body, an empty one or null keep the default name. */
export const duplicateProject = (projectId: string, b: Static<typeof schema.duplicateBody> | undefined): DuplicateProjectRequest => ({ projectId, name: b?.name ?? "" });

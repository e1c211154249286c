import { Type } from "typebox";
import { closed, nstr, opt, orNull, pageQuery, str, time, uuid } from "./common.js";

// Search, activity, export/import and duplicate.

export const SearchHit = {
  type: "object",
  properties: {
    nodeId: { type: "string" },
    projectId: { type: "string" },
    projectName: { type: "string" },
    title: { type: "string" },
    snippet: { type: "string" },
    highlights: { type: "array", items: { type: "object", properties: { start: { type: "integer" }, end: { type: "integer" } } } },
    score: { type: "number" },
  },
};

export const Activity = {
  type: "object",
  properties: {
    seq: { type: "integer" },
    name: { type: "string" },
    data: { type: "object", additionalProperties: true },
    at: time,
    actor: { type: ["object", "null"], properties: { userId: { type: "string" }, taskId: { type: "string" } } },
    username: nstr,
  },
};

/** Search pages are shorter than other lists: every hit carries a snippet. */
export const SEARCH_PAGE = { default: 20, max: 100 };
export const searchQuery = Type.Object({
  q: Type.String({ minLength: 1, maxLength: 200 }),
  projectId: opt(uuid),
  limit: opt(Type.Integer({ minimum: 1, maximum: SEARCH_PAGE.max, default: SEARCH_PAGE.default })),
  cursor: pageQuery.cursor,
});

const format = Type.Unsafe<"jsoncanvas" | "sker">({ type: "string", enum: ["jsoncanvas", "sker"] });
const projectName = str(200, 1);

export const exportQuery = Type.Object({
  format: opt(Type.Unsafe<"jsoncanvas" | "sker">({ type: "string", enum: ["jsoncanvas", "sker"], default: "jsoncanvas" })),
  versions: opt(Type.Boolean({ default: false })),
});
export const importQuery = Type.Object({ format: opt(format), name: opt(projectName) });
/** A whole JSON Canvas or sker file: its own parser checks it, naming the field. */
export const importBody = Type.Unsafe<{ [k: string]: unknown }>({ type: "object", additionalProperties: true });
export const duplicateBody = orNull(closed({ name: opt(projectName) }));

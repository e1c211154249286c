import type { FastifyPluginAsync } from "fastify";
import * as map from "../rest/map.js";
import { event as renderEvent } from "../rest/event.js";
import { idParams, listOf, ok, pageQuery, Project, uuid } from "../rest/schemas.js";
import { as, errorResponses, okBody, secured } from "./common.js";

// Search, activity, export/import and duplicate (issue 12). The store checks tenancy in each.

/** A sker file is 4 MiB at most on its way to the store (gRPC's default message size). */
export const IMPORT_MAX_BYTES = 4_000_000;

const nstr = { type: ["string", "null"] } as const;
const SearchHit = {
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
const Activity = {
  type: "object",
  properties: {
    seq: { type: "integer" },
    name: { type: "string" },
    data: { type: "object", additionalProperties: true },
    at: { type: ["string", "null"], format: "date-time" },
    actor: { type: ["object", "null"], properties: { userId: { type: "string" }, taskId: { type: "string" } } },
    username: nstr,
  },
};
const formatQuery = { type: "string", enum: ["jsoncanvas", "sker"] };

export const collabRoutes: FastifyPluginAsync = async (app) => {
  const collab = app.deps.clients.collab;

  app.get<{ Querystring: { q: string; projectId?: string; limit: number; cursor?: string } }>(
    "/search",
    {
      schema: {
        tags: ["search"],
        summary: "Nodes whose title or content hold every word of q (substrings, any language), across the caller's projects, best first",
        security: secured,
        querystring: {
          type: "object",
          required: ["q"],
          properties: { q: { type: "string", minLength: 1, maxLength: 200 }, projectId: uuid, limit: { type: "integer", minimum: 1, maximum: 100, default: 20 }, cursor: pageQuery.cursor },
        },
        response: { 200: listOf(SearchHit), ...errorResponses },
      },
    },
    async (req) => {
      const { q, projectId, limit, cursor } = req.query;
      const res = await collab.search({ query: q, projectId: projectId ?? "", page: { limit, cursor: cursor ?? "" } }, as(req));
      return okBody(map.page(res.hits, res.nextCursor));
    },
  );

  app.get<{ Params: { id: string }; Querystring: { limit: number; cursor?: string } }>(
    "/projects/:id/activity",
    {
      schema: {
        tags: ["projects"],
        summary: "The project's history, newest first: each event with its actor ({userId} or {userId, taskId}) and username",
        security: secured,
        params: idParams,
        querystring: { type: "object", properties: pageQuery },
        response: { 200: listOf(Activity), ...errorResponses },
      },
    },
    async (req) => {
      const res = await collab.listActivity({ projectId: req.params.id, page: { limit: req.query.limit, cursor: req.query.cursor ?? "" } }, as(req));
      const items = res.items.map(({ event, username }) => {
        const { seq, name, data, at, actor } = renderEvent(event!);
        return { seq, name, data, at, actor, username: username || null };
      });
      return okBody(map.page(items, res.nextCursor));
    },
  );

  app.get<{ Params: { id: string }; Querystring: { format: "jsoncanvas" | "sker"; versions?: boolean } }>(
    "/projects/:id/export",
    {
      schema: {
        tags: ["projects"],
        summary: "The canvas as a file: JSON Canvas 1.0 (.canvas) or the lossless sker format (versions=true adds node histories)",
        security: secured,
        params: idParams,
        querystring: { type: "object", properties: { format: { ...formatQuery, default: "jsoncanvas" }, versions: { type: "boolean", default: false } } },
        response: { 200: { type: "object", additionalProperties: true }, ...errorResponses },
      },
    },
    async (req, reply) => {
      const { format, versions } = req.query;
      const res = await collab.exportProject({ projectId: req.params.id, format, includeVersions: versions ?? false }, as(req));
      const file = `${req.params.id}.${format === "sker" ? "sker.json" : "canvas"}`;
      // The file as it is (no envelope): what a browser saves and another tool opens.
      return reply.header("content-disposition", `attachment; filename="${file}"`).type("application/json").serializer((s: string) => s).send(res.document);
    },
  );

  app.post<{ Body: Record<string, unknown>; Querystring: { format?: "jsoncanvas" | "sker"; name?: string } }>(
    "/projects/import",
    {
      bodyLimit: IMPORT_MAX_BYTES,
      schema: {
        tags: ["projects"],
        summary: "A new project from a JSON Canvas or sker file (the body); the caller owns it. All or nothing: a bad file is a 400 naming the field",
        security: secured,
        querystring: { type: "object", properties: { format: formatQuery, name: { type: "string", minLength: 1, maxLength: 200 } } },
        body: { type: "object", additionalProperties: true },
        response: { 201: ok(Project), ...errorResponses },
      },
    },
    async (req, reply) => {
      // Without ?format the file says: a sker file names itself, anything else is JSON Canvas.
      const format = req.query.format ?? (req.body.format === "sker" ? "sker" : "jsoncanvas");
      const res = await collab.importProject({ format, document: JSON.stringify(req.body), name: req.query.name ?? "" }, as(req));
      return reply.code(201).send(okBody(map.project(res.project)));
    },
  );

  app.post<{ Params: { id: string }; Body: { name?: string } | undefined }>(
    "/projects/:id/duplicate",
    {
      schema: {
        tags: ["projects"],
        summary: "A copy of the canvas as a new project the caller owns (readers may copy)",
        security: secured,
        params: idParams,
        body: { type: ["object", "null"], additionalProperties: false, properties: { name: { type: "string", minLength: 1, maxLength: 200 } } },
        response: { 201: ok(Project), ...errorResponses },
      },
    },
    async (req, reply) => {
      const res = await collab.duplicateProject({ projectId: req.params.id, name: req.body?.name ?? "" }, as(req));
      return reply.code(201).send(okBody(map.project(res.project)));
    },
  );
};

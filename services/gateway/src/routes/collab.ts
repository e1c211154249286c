import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import * as map from "../rest/map.js";
import { event as renderEvent } from "../rest/event.js";
import * as rpc from "../rest/requests/collab.js";
import { page } from "../rest/requests/common.js";
import { idParams, listOf, listQuery, ok } from "../rest/schemas/common.js";
import { Activity, duplicateBody, exportQuery, importBody, importQuery, SearchHit, searchQuery } from "../rest/schemas/collab.js";
import { Project } from "../rest/schemas/projects.js";
import { as, errorResponses, okBody, secured, sendJsonText } from "./common.js";

// Search, activity, export/import and duplicate (issue 12). The store checks tenancy in each.

/** A sker file is 4 MiB at most on its way to the store (gRPC's default message size). */
export const IMPORT_MAX_BYTES = 4_000_000;

export const collabRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const collab = app.deps.clients.collab;

  app.get(
    "/search",
    {
      schema: {
        tags: ["search"],
        summary: "Nodes whose title or content hold every word of q (substrings, any language), across the caller's projects, best first",
        security: secured,
        querystring: searchQuery,
        response: { 200: listOf(SearchHit), ...errorResponses },
      },
    },
    async (req) => {
      const res = await collab.search(rpc.search(req.query), as(req));
      return okBody(map.page(res.hits, res.nextCursor));
    },
  );

  app.get(
    "/projects/:id/activity",
    {
      schema: {
        tags: ["projects"],
        summary: "The project's history, newest first: each event with its actor ({userId} or {userId, taskId}) and username",
        security: secured,
        params: idParams,
        querystring: listQuery,
        response: { 200: listOf(Activity), ...errorResponses },
      },
    },
    async (req) => {
      const res = await collab.listActivity({ projectId: req.params.id, page: page(req.query) }, as(req));
      const items = res.items.map(({ event, username }) => {
        const { seq, name, data, at, actor } = renderEvent(event!);
        return { seq, name, data, at, actor, username: username || null };
      });
      return okBody(map.page(items, res.nextCursor));
    },
  );

  app.get(
    "/projects/:id/export",
    {
      schema: {
        tags: ["projects"],
        summary: "The canvas as a file: JSON Canvas 1.0 (.canvas) or the lossless sker format (versions=true adds node histories)",
        security: secured,
        params: idParams,
        querystring: exportQuery,
        response: { 200: { type: "object", additionalProperties: true }, ...errorResponses },
      },
    },
    async (req, reply) => {
      const ask = rpc.exportProject(req.params.id, req.query);
      const res = await collab.exportProject(ask, as(req));
      const file = `${req.params.id}.${ask.format === "sker" ? "sker.json" : "canvas"}`;
      // The file as it is (no envelope): what a browser saves and another tool opens.
      return sendJsonText(reply.header("content-disposition", `attachment; filename="${file}"`), res.document);
    },
  );

  app.post(
    "/projects/import",
    {
      bodyLimit: IMPORT_MAX_BYTES,
      schema: {
        tags: ["projects"],
        summary: "A new project from a JSON Canvas or sker file (the body); the caller owns it. All or nothing: a bad file is a 400 naming the field",
        security: secured,
        querystring: importQuery,
        body: importBody,
        response: { 201: ok(Project), ...errorResponses },
      },
    },
    async (req, reply) => {
      const res = await collab.importProject(rpc.importProject(req.query, req.body), as(req));
      return reply.code(201).send(okBody(map.project(res.project)));
    },
  );

  app.post(
    "/projects/:id/duplicate",
    {
      schema: {
        tags: ["projects"],
        summary: "A copy of the canvas as a new project the caller owns (readers may copy)",
        security: secured,
        params: idParams,
        body: duplicateBody,
        response: { 201: ok(Project), ...errorResponses },
      },
    },
    async (req, reply) => {
      const res = await collab.duplicateProject(rpc.duplicateProject(req.params.id, req.body), as(req));
      return reply.code(201).send(okBody(map.project(res.project)));
    },
  );
};

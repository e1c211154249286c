import type { FastifyPluginAsync } from "fastify";
import * as map from "../rest/map.js";
import { bodies, idParams, listOf, ok, pageQuery, Run, uuid } from "../rest/schemas.js";
import { as, errorResponses, okBody, secured } from "./common.js";

// Graph runs: start and cancel go through the broker (it publishes the tasks); reads go to the store.

export const runRoutes: FastifyPluginAsync = async (app) => {
  const { broker, runs } = app.deps.clients;
  const tags = ["runs"];
  const runOk = ok(Run);
  const projectParams = { type: "object", additionalProperties: false, required: ["id"], properties: { id: uuid } };

  app.post<{ Params: { id: string }; Body: { targets?: string[]; force?: boolean } | undefined }>(
    "/projects/:id/runs",
    {
      schema: {
        tags,
        summary: "Run the AI nodes the targets depend on (all AI nodes without targets) in dependency order, skipping unchanged ones (202)",
        security: secured,
        params: projectParams,
        body: bodies.startRun,
        response: { 202: runOk, ...errorResponses },
      },
    },
    async (req, reply) => {
      const res = await broker.startRun({ projectId: req.params.id, targets: req.body?.targets ?? [], force: req.body?.force ?? false }, as(req));
      return reply.code(202).send(okBody(map.run(res.run)));
    },
  );

  app.get<{ Params: { id: string }; Querystring: { limit: number; cursor?: string } }>(
    "/projects/:id/runs",
    {
      schema: { tags, summary: "The project's runs, newest first", security: secured, params: projectParams, querystring: { type: "object", properties: { ...pageQuery } }, response: { 200: listOf(Run), ...errorResponses } },
    },
    async (req) => {
      const res = await runs.listRuns({ projectId: req.params.id, page: { limit: req.query.limit, cursor: req.query.cursor ?? "" } }, as(req));
      return okBody(map.page(res.runs.map(map.run), res.nextCursor));
    },
  );

  app.get<{ Params: { id: string } }>(
    "/runs/:id",
    { schema: { tags, security: secured, params: idParams, response: { 200: runOk, ...errorResponses } } },
    async (req) => okBody(map.run((await runs.getRun({ id: req.params.id }, as(req))).run)),
  );

  app.post<{ Params: { id: string } }>(
    "/runs/:id/cancel",
    { schema: { tags, summary: "Cancel every unfinished node and task of the run at once", security: secured, params: idParams, response: { 200: runOk, ...errorResponses } } },
    async (req) => okBody(map.run((await broker.cancelRun({ id: req.params.id }, as(req))).run)),
  );
};

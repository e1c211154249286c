import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import * as map from "../rest/map.js";
import * as rpc from "../rest/requests/runs.js";
import { page } from "../rest/requests/common.js";
import { idParams, listOf, listQuery, ok } from "../rest/schemas/common.js";
import { Run, startRun } from "../rest/schemas/runs.js";
import { as, errorResponses, okBody, secured } from "./common.js";

// Graph runs: start and cancel go through the broker (it publishes the tasks); reads go to the store.

export const runRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { broker, runs } = app.deps.clients;
  const tags = ["runs"];
  const runOk = ok(Run);

  app.post(
    "/projects/:id/runs",
    {
      schema: {
        tags,
        summary: "Run the AI nodes the targets depend on (all AI nodes without targets) in dependency order, skipping unchanged ones (202)",
        security: secured,
        params: idParams,
        body: startRun,
        response: { 202: runOk, ...errorResponses },
      },
    },
    async (req, reply) => {
      const res = await broker.startRun(rpc.startRun(req.params.id, req.body), as(req));
      return reply.code(202).send(okBody(map.run(res.run)));
    },
  );

  app.get(
    "/projects/:id/runs",
    {
      schema: { tags, summary: "The project's runs, newest first", security: secured, params: idParams, querystring: listQuery, response: { 200: listOf(Run), ...errorResponses } },
    },
    async (req) => {
      const res = await runs.listRuns({ projectId: req.params.id, page: page(req.query) }, as(req));
      return okBody(map.page(res.runs.map(map.run), res.nextCursor));
    },
  );

  app.get(
    "/runs/:id",
    { schema: { tags, security: secured, params: idParams, response: { 200: runOk, ...errorResponses } } },
    async (req) => okBody(map.run((await runs.getRun({ id: req.params.id }, as(req))).run)),
  );

  app.post(
    "/runs/:id/cancel",
    { schema: { tags, summary: "Cancel every unfinished node and task of the run at once", security: secured, params: idParams, response: { 200: runOk, ...errorResponses } } },
    async (req) => okBody(map.run((await broker.cancelRun({ id: req.params.id }, as(req))).run)),
  );
};

import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import * as map from "../rest/map.js";
import * as rpc from "../rest/requests/tasks.js";
import { idempotencyHeaders, idParams, listOf, ok } from "../rest/schemas/common.js";
import { listTasksQuery, submitTask as submitBody, Task } from "../rest/schemas/tasks.js";
import { submitTask } from "../rest/submit-task.js";
import { as, errorResponses, okBody, secured } from "./common.js";

export const aiTaskRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { broker, tasks } = app.deps.clients;
  const tags = ["ai-tasks"];
  const taskOk = ok(Task);

  app.post(
    "/ai-tasks",
    {
      schema: {
        tags,
        summary: "Submit an AI task (202); the same Idempotency-Key from the same user answers the first task (200)",
        security: secured,
        headers: idempotencyHeaders,
        body: submitBody,
        response: { 200: taskOk, 202: taskOk, ...errorResponses },
      },
    },
    async (req, reply) => {
      const res = await submitTask(app.deps.clients, rpc.submitTask(req.body, req.headers["idempotency-key"]), as(req), (key) => reply.header("idempotency-key", key));
      return reply.code(res.created ? 202 : 200).send(okBody(map.task(res.task)));
    },
  );

  app.get("/ai-tasks", { schema: { tags, security: secured, querystring: listTasksQuery, response: { 200: listOf(Task), ...errorResponses } } }, async (req) => {
    const res = await tasks.listTasks(rpc.listTasks(req.query), as(req));
    return okBody(map.page(res.tasks.map(map.task), res.nextCursor));
  });

  app.get(
    "/ai-tasks/:id",
    { schema: { tags, security: secured, params: idParams, response: { 200: taskOk, ...errorResponses } } },
    async (req) => okBody(map.task((await tasks.getTask({ id: req.params.id }, as(req))).task)),
  );

  app.post(
    "/ai-tasks/:id/cancel",
    { schema: { tags, summary: "Cancel a task; a running provider call is aborted", security: secured, params: idParams, response: { 200: taskOk, ...errorResponses } } },
    async (req) => okBody(map.task((await broker.cancelTask({ id: req.params.id }, as(req))).task)),
  );

  app.post(
    "/ai-tasks/:id/retry",
    {
      schema: {
        tags,
        summary: "Start a new task with the input of a failed or cancelled one (202, retryOf set); editors. 409 FAILED_PRECONDITION for any other status",
        security: secured,
        params: idParams,
        headers: idempotencyHeaders,
        response: { 200: taskOk, 202: taskOk, ...errorResponses },
      },
    },
    async (req, reply) => {
      // The store checks again, in the transaction that creates the retry: editor, same project, failed or cancelled.
      const { task } = await tasks.getTask({ id: req.params.id }, as(req));
      const res = await submitTask(app.deps.clients, rpc.retryTask(task!, req.headers["idempotency-key"]), as(req), (key) => reply.header("idempotency-key", key));
      return reply.code(res.created ? 202 : 200).send(okBody(map.task(res.task)));
    },
  );
};

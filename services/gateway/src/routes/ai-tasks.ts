import type { FastifyPluginAsync } from "fastify";
import { toProtoEnum } from "@sker/kit";
import { LIMITS } from "@sker/contracts/limits";
import { TaskStatus } from "@sker/contracts/store/v1/task";
import * as map from "../rest/map.js";
import { bodies, ENUMS, idParams, listOf, ok, pageQuery, Task, uuid } from "../rest/schemas.js";
import { retryRequest, submitRequest, type TaskBody } from "../rest/task-request.js";
import { submitTask } from "../rest/submit-task.js";
import { as, errorResponses, okBody, secured } from "./common.js";

export const aiTaskRoutes: FastifyPluginAsync = async (app) => {
  const { broker, tasks } = app.deps.clients;
  const tags = ["ai-tasks"];
  const taskOk = ok(Task);

  app.post<{ Body: TaskBody; Headers: { "idempotency-key"?: string } }>(
    "/ai-tasks",
    {
      schema: {
        tags,
        summary: "Submit an AI task (202); the same Idempotency-Key from the same user answers the first task (200)",
        security: secured,
        headers: { type: "object", properties: { "idempotency-key": { type: "string", minLength: 1, maxLength: LIMITS.task.idempotencyKey } } },
        body: bodies.submitTask,
        response: { 200: taskOk, 202: taskOk, ...errorResponses },
      },
    },
    async (req, reply) => {
      const res = await submitTask(app.deps.clients, submitRequest(req.body, req.headers["idempotency-key"]), as(req));
      return reply.code(res.created ? 202 : 200).send(okBody(map.task(res.task)));
    },
  );

  app.get<{ Querystring: { projectId: string; status?: string; limit: number; cursor?: string } }>(
    "/ai-tasks",
    {
      schema: {
        tags,
        security: secured,
        querystring: {
          type: "object",
          required: ["projectId"],
          properties: { projectId: uuid, status: { type: "string", enum: [...ENUMS.taskStatus] }, ...pageQuery },
        },
        response: { 200: listOf(Task), ...errorResponses },
      },
    },
    async (req) => {
      const { projectId, status, limit, cursor } = req.query;
      const res = await tasks.listTasks(
        {
          projectId,
          status: status ? toProtoEnum<TaskStatus>(status, "TASK_STATUS_") : TaskStatus.TASK_STATUS_UNSPECIFIED,
          page: { limit, cursor: cursor ?? "" },
        },
        as(req),
      );
      return okBody(map.page(res.tasks.map(map.task), res.nextCursor));
    },
  );

  app.get<{ Params: { id: string } }>(
    "/ai-tasks/:id",
    { schema: { tags, security: secured, params: idParams, response: { 200: taskOk, ...errorResponses } } },
    async (req) => okBody(map.task((await tasks.getTask({ id: req.params.id }, as(req))).task)),
  );

  app.post<{ Params: { id: string } }>(
    "/ai-tasks/:id/cancel",
    { schema: { tags, summary: "Cancel a task; a running provider call is aborted", security: secured, params: idParams, response: { 200: taskOk, ...errorResponses } } },
    async (req) => okBody(map.task((await broker.cancelTask({ id: req.params.id }, as(req))).task)),
  );

  app.post<{ Params: { id: string }; Headers: { "idempotency-key"?: string } }>(
    "/ai-tasks/:id/retry",
    {
      schema: {
        tags,
        summary: "Start a new task with the input of a failed or cancelled one (202, retryOf set); editors. 409 FAILED_PRECONDITION for any other status",
        security: secured,
        params: idParams,
        headers: { type: "object", properties: { "idempotency-key": { type: "string", minLength: 1, maxLength: 200 } } },
        response: { 200: taskOk, 202: taskOk, ...errorResponses },
      },
    },
    async (req, reply) => {
      // The store checks again, in the transaction that creates the retry: editor, same project, failed or cancelled.
      const { task } = await tasks.getTask({ id: req.params.id }, as(req));
      const res = await submitTask(app.deps.clients, retryRequest(task!, req.headers["idempotency-key"]), as(req));
      return reply.code(res.created ? 202 : 200).send(okBody(map.task(res.task)));
    },
  );
};

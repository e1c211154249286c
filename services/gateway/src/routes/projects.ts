import type { FastifyPluginAsync } from "fastify";
import { toProtoEnum } from "@sker/kit";
import { ProjectStatus } from "@sker/contracts/store/v1/project";
import type { Role } from "@sker/contracts/common/v1/common";
import * as map from "../rest/map.js";
import { bodies, ENUMS, Graph, idParams, listOf, Member, noContent, ok, pageQuery, Project, uuid } from "../rest/schemas.js";
import { as, errorResponses, okBody, secured } from "./common.js";
import { graphStream } from "../rest/graph-stream.js";

type Obj = Record<string, unknown>;

export const projectRoutes: FastifyPluginAsync = async (app) => {
  const projects = app.deps.clients.projects;
  const tags = ["projects"];
  const memberParams = { type: "object", additionalProperties: false, properties: { id: uuid, userId: uuid }, required: ["id", "userId"] };

  app.get<{ Querystring: { limit: number; cursor?: string; status?: string } }>(
    "/projects",
    {
      schema: {
        tags,
        security: secured,
        querystring: { type: "object", properties: { ...pageQuery, status: { type: "string", enum: [...ENUMS.projectStatus] } } },
        response: { 200: listOf(Project), ...errorResponses },
      },
    },
    async (req) => {
      const { limit, cursor, status } = req.query;
      const res = await projects.listProjects(
        {
          page: { limit, cursor: cursor ?? "" },
          status: status ? toProtoEnum<ProjectStatus>(status, "PROJECT_STATUS_") : ProjectStatus.PROJECT_STATUS_UNSPECIFIED,
        },
        as(req),
      );
      return okBody(map.page(res.projects.map(map.project), res.nextCursor));
    },
  );

  app.post<{ Body: { name: string; description?: string; canvasData?: Obj; settings?: Obj } }>(
    "/projects",
    { schema: { tags, security: secured, body: bodies.createProject, response: { 201: ok(Project), ...errorResponses } } },
    async (req, reply) => {
      const { name, description, canvasData, settings } = req.body;
      const res = await projects.createProject({ name, description: description ?? "", canvasData, settings }, as(req));
      return reply.code(201).send(okBody(map.project(res.project)));
    },
  );

  app.get<{ Params: { id: string } }>(
    "/projects/:id",
    { schema: { tags, security: secured, params: idParams, response: { 200: ok(Project), ...errorResponses } } },
    async (req) => okBody(map.project((await projects.getProject({ id: req.params.id }, as(req))).project)),
  );

  app.patch<{ Params: { id: string }; Body: { name?: string; description?: string; status?: string; canvasData?: Obj; settings?: Obj } }>(
    "/projects/:id",
    { schema: { tags, security: secured, params: idParams, body: bodies.updateProject, response: { 200: ok(Project), ...errorResponses } } },
    async (req) => {
      const { name, description, status, canvasData, settings } = req.body;
      const res = await projects.updateProject(
        {
          id: req.params.id,
          name,
          description,
          status: status ? toProtoEnum<ProjectStatus>(status, "PROJECT_STATUS_") : ProjectStatus.PROJECT_STATUS_UNSPECIFIED,
          canvasData,
          settings,
        },
        as(req),
      );
      return okBody(map.project(res.project));
    },
  );

  app.delete<{ Params: { id: string } }>(
    "/projects/:id",
    { schema: { tags, security: secured, params: idParams, response: { 204: noContent, ...errorResponses } } },
    async (req, reply) => {
      await projects.deleteProject({ id: req.params.id }, as(req));
      return reply.code(204).send();
    },
  );

  app.get<{ Params: { id: string } }>(
    "/projects/:id/graph",
    { schema: { tags, summary: "The whole canvas: live nodes and connections", security: secured, params: idParams, response: { 200: ok(Graph), ...errorResponses } } },
    async (req, reply) => reply.type("application/json; charset=utf-8").send(await graphStream(app.deps.clients, req.params.id, as(req))),
  );

  app.get<{ Params: { id: string } }>(
    "/projects/:id/members",
    { schema: { tags, security: secured, params: idParams, response: { 200: listOf(Member), ...errorResponses } } },
    async (req) => {
      const res = await projects.listMembers({ projectId: req.params.id }, as(req));
      return okBody(map.page(res.members.map(map.member), ""));
    },
  );

  app.put<{ Params: { id: string; userId: string }; Body: { role: string } }>(
    "/projects/:id/members/:userId",
    { schema: { tags, summary: "Add a member or change their role (owners)", security: secured, params: memberParams, body: bodies.putMember, response: { 200: ok(Member), ...errorResponses } } },
    async (req) => {
      const res = await projects.putMember(
        { projectId: req.params.id, userId: req.params.userId, role: toProtoEnum<Role>(req.body.role, "ROLE_") },
        as(req),
      );
      return okBody(map.member(res.member));
    },
  );

  app.delete<{ Params: { id: string; userId: string } }>(
    "/projects/:id/members/:userId",
    { schema: { tags, security: secured, params: memberParams, response: { 204: noContent, ...errorResponses } } },
    async (req, reply) => {
      await projects.removeMember({ projectId: req.params.id, userId: req.params.userId }, as(req));
      return reply.code(204).send();
    },
  );
};

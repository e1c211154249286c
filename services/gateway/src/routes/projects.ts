import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import * as map from "../rest/map.js";
import * as rpc from "../rest/requests/projects.js";
import { graphStream } from "../rest/graph-stream.js";
import { idParams, listOf, noContent, ok } from "../rest/schemas/common.js";
import { Graph } from "../rest/schemas/nodes.js";
import { createProject, listProjectsQuery, Member, memberParams, Project, putMember, updateProject } from "../rest/schemas/projects.js";
import { as, errorResponses, okBody, secured, sendJsonText } from "./common.js";

export const projectRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const projects = app.deps.clients.projects;
  const tags = ["projects"];

  app.get("/projects", { schema: { tags, security: secured, querystring: listProjectsQuery, response: { 200: listOf(Project), ...errorResponses } } }, async (req) => {
    const res = await projects.listProjects(rpc.listProjects(req.query), as(req));
    return okBody(map.page(res.projects.map(map.project), res.nextCursor));
  });

  app.post("/projects", { schema: { tags, security: secured, body: createProject, response: { 201: ok(Project), ...errorResponses } } }, async (req, reply) => {
    const res = await projects.createProject(rpc.createProject(req.body), as(req));
    return reply.code(201).send(okBody(map.project(res.project)));
  });

  app.get(
    "/projects/:id",
    { schema: { tags, security: secured, params: idParams, response: { 200: ok(Project), ...errorResponses } } },
    async (req) => okBody(map.project((await projects.getProject({ id: req.params.id }, as(req))).project)),
  );

  app.patch(
    "/projects/:id",
    { schema: { tags, security: secured, params: idParams, body: updateProject, response: { 200: ok(Project), ...errorResponses } } },
    async (req) => okBody(map.project((await projects.updateProject(rpc.updateProject(req.params.id, req.body), as(req))).project)),
  );

  app.delete("/projects/:id", { schema: { tags, security: secured, params: idParams, response: { 204: noContent, ...errorResponses } } }, async (req, reply) => {
    await projects.deleteProject({ id: req.params.id }, as(req));
    return reply.code(204).send();
  });

  app.get(
    "/projects/:id/graph",
    { schema: { tags, summary: "The whole canvas: live nodes and connections", security: secured, params: idParams, response: { 200: ok(Graph), ...errorResponses } } },
    async (req, reply) => sendJsonText(reply, await app.readCache.graph(req, req.params.id, () => graphStream(app.deps.clients, req.params.id, as(req)))),
  );

  app.get("/projects/:id/members", { schema: { tags, security: secured, params: idParams, response: { 200: listOf(Member), ...errorResponses } } }, async (req) => {
    const res = await projects.listMembers({ projectId: req.params.id }, as(req));
    return okBody(map.page(res.members.map(map.member), ""));
  });

  app.put(
    "/projects/:id/members/:userId",
    { schema: { tags, summary: "Add a member or change their role (owners)", security: secured, params: memberParams, body: putMember, response: { 200: ok(Member), ...errorResponses } } },
    async (req) => okBody(map.member((await projects.putMember(rpc.putMember(req.params, req.body), as(req))).member)),
  );

  app.delete(
    "/projects/:id/members/:userId",
    { schema: { tags, security: secured, params: memberParams, response: { 204: noContent, ...errorResponses } } },
    async (req, reply) => {
      await projects.removeMember({ projectId: req.params.id, userId: req.params.userId }, as(req));
      return reply.code(204).send();
    },
  );
};

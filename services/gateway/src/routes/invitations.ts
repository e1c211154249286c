import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import * as map from "../rest/map.js";
import * as rpc from "../rest/requests/projects.js";
import { idParams, listOf, noContent, ok } from "../rest/schemas/common.js";
import { accept, Invitation, InvitationResult, invitationParams, invite, Project } from "../rest/schemas/projects.js";
import { as, errorResponses, okBody, secured } from "./common.js";

// Invitations by email (owners), and accepting one with its token (any signed-in user).

export const invitationRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const projects = app.deps.clients.projects;
  const tags = ["projects"];

  app.post(
    "/projects/:id/invitations",
    {
      schema: {
        tags,
        summary: "Invite by email (owners): an account joins at once (201 added), another email gets a pending invitation with a token and link (201 invited)",
        security: secured,
        params: idParams,
        body: invite,
        response: { 201: ok(InvitationResult), ...errorResponses },
      },
    },
    async (req, reply) => {
      const res = await projects.createInvitation(rpc.createInvitation(req.params.id, req.body), as(req));
      const data = res.member ? { status: "added", member: map.member(res.member) } : { status: "invited", invitation: map.invitation(res.invitation) };
      return reply.code(201).send(okBody(data));
    },
  );

  app.get(
    "/projects/:id/invitations",
    { schema: { tags, summary: "Pending invitations (owners)", security: secured, params: idParams, response: { 200: listOf(Invitation), ...errorResponses } } },
    async (req) => {
      const res = await projects.listInvitations({ projectId: req.params.id }, as(req));
      return okBody(map.page(res.invitations.map(map.invitation), ""));
    },
  );

  app.delete(
    "/projects/:id/invitations/:invitationId",
    { schema: { tags, summary: "Revoke a pending invitation (owners)", security: secured, params: invitationParams, response: { 204: noContent, ...errorResponses } } },
    async (req, reply) => {
      await projects.revokeInvitation({ projectId: req.params.id, id: req.params.invitationId }, as(req));
      return reply.code(204).send();
    },
  );

  app.post(
    "/invitations/accept",
    { schema: { tags, summary: "Join the project of an invitation token", security: secured, body: accept, response: { 200: ok(Project), ...errorResponses } } },
    async (req) => okBody(map.project((await projects.acceptInvitation({ token: req.body.token }, as(req))).project)),
  );
};

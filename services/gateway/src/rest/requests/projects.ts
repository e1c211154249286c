import type { Static } from "typebox";
import type { Role } from "@sker/contracts/common/v1/common";
import type { CreateInvitationRequest, CreateProjectRequest, ListProjectsRequest, ProjectStatus, PutMemberRequest, UpdateProjectRequest } from "@sker/contracts/store/v1/project";
import type * as schema from "../schemas/projects.js";
import { enumIn, page } from "./common.js";

// REST → proto for the project, member and invitation routes (proto → REST is rest/map.ts).

const status = (s: string | undefined) => enumIn<ProjectStatus>(s, "PROJECT_STATUS_");

export const listProjects = (q: Static<typeof schema.listProjectsQuery>): ListProjectsRequest => ({ page: page(q), status: status(q.status) });

export const createProject = (b: Static<typeof schema.createProject>): CreateProjectRequest => ({
  name: b.name,
  description: b.description ?? "",
  canvasData: b.canvasData,
  settings: b.settings,
});

export const updateProject = (id: string, b: Static<typeof schema.updateProject>): UpdateProjectRequest => ({
  id,
  name: b.name,
  description: b.description,
  status: status(b.status),
  canvasData: b.canvasData,
  settings: b.settings,
});

export const putMember = (p: Static<typeof schema.memberParams>, b: Static<typeof schema.putMember>): PutMemberRequest => ({
  projectId: p.id,
  userId: p.userId,
  role: enumIn<Role>(b.role, "ROLE_"),
});

/** Without a role the invitee is an editor (the schema's published default). */
export const createInvitation = (projectId: string, b: Static<typeof schema.invite>): CreateInvitationRequest => ({
  projectId,
  email: b.email,
  role: enumIn<Role>(b.role ?? "editor", "ROLE_"),
});

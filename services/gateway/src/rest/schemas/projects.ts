import { Type } from "typebox";
import { ENUMS } from "@sker/contracts/enums";
import { EMAIL_PATTERN, LIMITS } from "@sker/contracts/limits";
import { closed, en, enumOut, freeObject, jsonIn, nullableEnumOut, open, opt, pageQuery, partial, str, time, uuid } from "./common.js";

// Projects, their members and invitations.

const P = LIMITS.project;

export const Project = open({
  id: { type: "string" },
  name: { type: "string" },
  description: { type: "string" },
  status: enumOut(ENUMS.projectStatus),
  canvasData: freeObject,
  settings: freeObject,
  role: nullableEnumOut(ENUMS.role),
  ownerId: { type: "string" },
  createdAt: time,
  updatedAt: time,
});

export const Member = open({
  projectId: { type: "string" },
  userId: { type: "string" },
  username: { type: "string" },
  email: { type: "string", description: "Shown to the project's owners only" },
  role: nullableEnumOut(ENUMS.role),
  joinedAt: time,
  createdAt: time,
});

export const Invitation = open({
  id: { type: "string" },
  projectId: { type: "string" },
  email: { type: "string" },
  role: enumOut(ENUMS.role),
  invitedBy: { type: ["string", "null"] },
  createdAt: time,
  expiresAt: time,
  token: { type: "string", description: "Only in the answer to the create: stored hashed" },
  link: { type: "string", description: "Only in the answer to the create: the link mailed to the invitee" },
});

export const InvitationResult = {
  type: "object",
  description: "`status: added` with `member` when the email had an account; `status: invited` with `invitation` otherwise",
  properties: { status: enumOut(["added", "invited"]), member: Member, invitation: Invitation },
};

export const listProjectsQuery = Type.Object({ ...pageQuery, status: opt(en(ENUMS.projectStatus)) });
export const createProject = closed({ name: str(P.name, 1), description: opt(str(P.description)), canvasData: opt(jsonIn(P.canvasDataBytes)), settings: opt(jsonIn(P.settingsBytes)) });
export const updateProject = partial({
  name: str(P.name, 1),
  description: str(P.description),
  status: en(ENUMS.projectStatus),
  canvasData: jsonIn(P.canvasDataBytes),
  settings: jsonIn(P.settingsBytes),
});

export const memberParams = closed({ id: uuid, userId: uuid });
export const putMember = closed({ role: en(ENUMS.role) });

export const invitationParams = closed({ id: uuid, invitationId: uuid });
export const invite = closed({ email: Type.String({ pattern: EMAIL_PATTERN, maxLength: LIMITS.user.email }), role: opt(en(ENUMS.role, { default: "editor" })) });
export const accept = closed({ token: str(LIMITS.user.oneTimeToken, 1) });

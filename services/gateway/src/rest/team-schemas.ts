import { ENUMS } from "@sker/contracts/enums";
import { EMAIL_PATTERN, LIMITS } from "@sker/contracts/limits";
import { Member, uuid } from "./schemas.js";

// Schemas of the team and identity routes: invitations, passwords, email verification, admin
// user management.

const time = { type: ["string", "null"], format: "date-time" } as const;
const U = LIMITS.user;
const email = { type: "string", pattern: EMAIL_PATTERN, maxLength: U.email } as const;
const password = { type: "string", minLength: U.passwordMin, maxLength: U.passwordMax } as const;
const token = { type: "string", minLength: 1, maxLength: U.oneTimeToken } as const;
const closed = (properties: Record<string, unknown>, required: string[] = []) => ({ type: "object", additionalProperties: false, properties, required });

export const Invitation = {
  type: "object",
  properties: {
    id: { type: "string" },
    projectId: { type: "string" },
    email: { type: "string" },
    role: { type: "string", enum: [...ENUMS.role] },
    invitedBy: { type: ["string", "null"] },
    createdAt: time,
    expiresAt: time,
    token: { type: "string", description: "Only in the answer to the create: stored hashed" },
    link: { type: "string", description: "Only in the answer to the create: the link mailed to the invitee" },
  },
};

export const InvitationResult = {
  type: "object",
  description: "`status: added` with `member` when the email had an account; `status: invited` with `invitation` otherwise",
  properties: { status: { type: "string", enum: ["added", "invited"] }, member: Member, invitation: Invitation },
};

/** A user as admins see them. */
export const AdminUser = {
  type: "object",
  properties: {
    id: { type: "string" },
    email: { type: "string" },
    username: { type: "string" },
    displayName: { type: "string" },
    role: { type: "string", enum: ["user", "admin"] },
    disabled: { type: "boolean" },
    emailVerified: { type: "boolean" },
    lastLoginAt: time,
    createdAt: time,
  },
};

export const teamBodies = {
  invite: closed({ email, role: { type: "string", enum: [...ENUMS.role], default: "editor" } }, ["email"]),
  accept: closed({ token }, ["token"]),
  changePassword: closed({ currentPassword: { type: "string", minLength: 1, maxLength: U.passwordMax }, newPassword: password }, ["currentPassword", "newPassword"]),
  resetRequest: closed({ email }, ["email"]),
  resetConfirm: closed({ token, newPassword: password }, ["token", "newPassword"]),
  verifyEmail: closed({ token }, ["token"]),
};

export const invitationParams = closed({ id: uuid, invitationId: uuid }, ["id", "invitationId"]);
export const userIdParams = closed({ id: uuid }, ["id"]);

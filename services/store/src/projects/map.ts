import { toProtoEnum } from "@sker/kit";
import type { Role } from "@sker/contracts/common/v1/common";
import type { Member, Project, ProjectStatus } from "@sker/contracts/store/v1/project";
import type { ProjectRow, Role as DbRole } from "../db/schema.js";

export const PROJECT_STATUS = "PROJECT_STATUS_";
export const ROLE = "ROLE_";

export function projectToProto(row: ProjectRow, role: DbRole): Project {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    status: toProtoEnum<ProjectStatus>(row.status, PROJECT_STATUS),
    canvasData: row.canvas_data,
    settings: row.settings,
    role: toProtoEnum<Role>(role, ROLE),
    ownerId: row.owner_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** The project as REST shows it, without the per-caller role: the data of project.updated. */
export function projectToRest(row: ProjectRow) {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    status: row.status,
    canvasData: row.canvas_data,
    settings: row.settings,
    ownerId: row.owner_id,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

export interface MemberView {
  project_id: string;
  user_id: string;
  username: string;
  email: string;
  role: DbRole;
  created_at: Date;
}

export function memberToProto(m: MemberView): Member {
  return { projectId: m.project_id, userId: m.user_id, username: m.username, email: m.email, role: toProtoEnum<Role>(m.role, ROLE), createdAt: m.created_at };
}

/**
 * The data of member.added and member.updated (role null when the member left or was removed).
 * Without the email: every subscriber sees events, and emails are for owners.
 */
export function memberToRest(m: MemberView) {
  const at = m.created_at.toISOString();
  return { projectId: m.project_id, userId: m.user_id, username: m.username, role: m.role, joinedAt: at, createdAt: at };
}

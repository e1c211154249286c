import { toProtoEnum } from "@sker/kit";
import type { Role } from "@sker/contracts/common/v1/common";
import type { Member, Project, ProjectStatus } from "@sker/contracts/store/v1/project";
import type { ProjectRow, Role as DbRole } from "../db/schema.js";

export const PROJECT_STATUS = "PROJECT_STATUS_";
export const ROLE = "ROLE_";

/** `role` is the reader's; without it (an event: every member reads it) it is unset. */
export function projectToProto(row: ProjectRow, role?: DbRole): Project {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    status: toProtoEnum<ProjectStatus>(row.status, PROJECT_STATUS),
    canvasData: row.canvas_data,
    settings: row.settings,
    role: role ? toProtoEnum<Role>(role, ROLE) : ("ROLE_UNSPECIFIED" as Role),
    ownerId: row.owner_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
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

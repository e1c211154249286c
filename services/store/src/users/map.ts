import { toProtoEnum } from "@sker/kit";
import type { ApiKey, User, UserRole } from "@sker/contracts/store/v1/user";
import type { UserRow } from "../db/schema.js";
import type { Selectable } from "kysely";
import type { ApiKeysTable } from "../db/schema.js";

export function userToProto(row: UserRow): User {
  return {
    id: row.id,
    email: row.email,
    username: row.username,
    displayName: row.display_name,
    avatarUrl: row.avatar_url,
    settings: row.settings,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    role: toProtoEnum<UserRole>(row.role, "USER_ROLE_"),
    disabled: row.disabled_at !== null,
    lastLoginAt: row.last_login_at ?? undefined,
    emailVerified: row.email_verified_at !== null,
  };
}

export function apiKeyToProto(row: Selectable<ApiKeysTable>, key = ""): ApiKey {
  return { id: row.id, name: row.name, key, prefix: row.prefix, createdAt: row.created_at, lastUsedAt: row.last_used_at ?? undefined };
}

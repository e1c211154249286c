import { forbidden, notFound, unauthenticated, type Caller, type CallContext } from "@sker/kit";
import type { Role } from "./db/schema.js";
import type { StoreDeps } from "./deps.js";

const RANK: Record<Role, number> = { viewer: 1, editor: 2, owner: 3 };
const MEMBER_TTL_SECONDS = 60;

export const memberKey = (projectId: string, userId: string) => `member:${projectId}:${userId}`;
/** memberKey as the cache's getThen follows it from a cached row's project_id. */
export const memberKeyOf = (userId: string) => ({ field: "project_id", prefix: "member:", suffix: `:${userId}` });

/** The end user behind a call; service tokens do not act as users. */
export function userOf(caller: Caller): string {
  if (caller.kind !== "user") throw unauthenticated("this call needs a user's token");
  return caller.userId;
}

/** The caller's role in a live project, cached; undefined when not a member (or no such project). */
export async function roleIn(deps: StoreDeps, projectId: string, userId: string, known?: Role | "none"): Promise<Role | undefined> {
  const key = memberKey(projectId, userId);
  const cached = known ?? (await deps.cache.get<Role | "none">(key));
  if (cached) return cached === "none" ? undefined : cached;
  const row = await deps.db
    .selectFrom("project_members as m")
    .innerJoin("projects as p", "p.id", "m.project_id")
    .select("m.role")
    .where("m.project_id", "=", projectId)
    .where("m.user_id", "=", userId)
    .where("p.deleted_at", "is", null)
    .executeTakeFirst();
  await deps.cache.set(key, row?.role ?? "none", MEMBER_TTL_SECONDS);
  return row?.role;
}

/**
 * Tenancy in one place: a non-member gets NOT_FOUND (existence never leaks), a member below
 * `min` gets PERMISSION_DENIED. Every RPC that touches project data goes through here first.
 * `known`: the cached role, when the caller read it already (cachedLiveNodeAndRole).
 */
export async function requireRole(deps: StoreDeps, ctx: Pick<CallContext, "caller">, projectId: string, min: Role, what = "project", known?: Role | "none"): Promise<Role> {
  const role = await roleIn(deps, projectId, userOf(ctx.caller), known);
  if (!role) throw notFound(what);
  if (RANK[role] < RANK[min]) throw forbidden(`needs the ${min} role`);
  return role;
}

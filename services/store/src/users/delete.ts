import type { StoreDeps } from "../deps.js";
import { memberKey } from "../authz.js";
import { appendEvent } from "../events/append.js";
import { payload } from "../events/payload.js";
import { memberView } from "../invitations/repo.js";
import { projectKey } from "../projects/cache.js";
import { accessKey } from "./access.js";

/**
 * DeleteMe. No project is left without an owner: where this user was the last owner, ownership
 * passes to the longest-standing editor (or, with no editor, the longest-standing viewer), who
 * is told by a member.updated event. A project with no other member goes with the account.
 * Every surviving project gets member.updated (role null) for the leaver, as when a member
 * leaves; a project they created is re-attributed to one of its owners.
 */
export async function deleteAccount(deps: StoreDeps, userId: string): Promise<void> {
  const touched = await deps.db.transaction().execute(async (trx) => {
    const mine = await trx.selectFrom("project_members").select("project_id").where("user_id", "=", userId).execute();
    const created = await trx.selectFrom("projects").select("id").where("owner_id", "=", userId).execute();
    const projectIds = [...new Set([...mine.map((m) => m.project_id), ...created.map((p) => p.id)])].sort();
    // Lock in a stable order, so two deletions sharing projects cannot deadlock.
    if (projectIds.length) await trx.selectFrom("projects").select("id").where("id", "in", projectIds).orderBy("id").forUpdate().execute();
    const members = projectIds.length
      ? await trx.selectFrom("project_members").select(["project_id", "user_id", "role"]).where("project_id", "in", projectIds).orderBy("created_at").orderBy("user_id").execute()
      : [];
    const gone: string[] = [];
    for (const projectId of projectIds) {
      const others = members.filter((m) => m.project_id === projectId && m.user_id !== userId);
      if (others.length === 0) {
        gone.push(projectId);
        continue;
      }
      let owner = others.find((m) => m.role === "owner");
      if (!owner) {
        owner = others.find((m) => m.role === "editor") ?? others[0];
        await trx.updateTable("project_members").set({ role: "owner" }).where("project_id", "=", projectId).where("user_id", "=", owner.user_id).execute();
        await appendEvent(trx, projectId, "member.updated", payload.member((await memberView(trx, projectId, owner.user_id))!), { userId });
      }
      if (created.some((p) => p.id === projectId)) await trx.updateTable("projects").set({ owner_id: owner.user_id }).where("id", "=", projectId).execute();
      if (mine.some((m) => m.project_id === projectId)) {
        await trx.deleteFrom("project_members").where("project_id", "=", projectId).where("user_id", "=", userId).execute();
        await appendEvent(trx, projectId, "member.updated", payload.memberRemoved(projectId, userId), { userId });
      }
    }
    if (gone.length) await trx.deleteFrom("projects").where("id", "in", gone).execute();
    await trx.deleteFrom("users").where("id", "=", userId).execute();
    return { projectIds, members };
  });
  deps.afterCommit();
  await deps.cache.del(accessKey(userId), ...touched.projectIds.map(projectKey), ...touched.members.map((m) => memberKey(m.project_id, m.user_id)));
}

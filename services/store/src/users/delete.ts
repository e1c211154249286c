import type { StoreDeps } from "../deps.js";
import { memberKey } from "../authz.js";
import { appendEvent } from "../events/append.js";
import { projectKey } from "../projects/cache.js";
import { aliveKey } from "./alive.js";

/**
 * DeleteMe. A project whose only owner is this user goes with the account (FK cascade), as do
 * sessions and keys. Any other project they created passes to its longest-standing other owner,
 * and every surviving project they were in gets a member.updated event (role null), as when a
 * member leaves.
 */
export async function deleteAccount(deps: StoreDeps, userId: string): Promise<void> {
  const touched = await deps.db.transaction().execute(async (trx) => {
    const mine = await trx.selectFrom("project_members").select("project_id").where("user_id", "=", userId).execute();
    const created = await trx.selectFrom("projects").select("id").where("owner_id", "=", userId).execute();
    const projectIds = [...new Set([...mine.map((m) => m.project_id), ...created.map((p) => p.id)])];
    const members = projectIds.length
      ? await trx.selectFrom("project_members").select(["project_id", "user_id", "role"]).where("project_id", "in", projectIds).orderBy("created_at").execute()
      : [];
    for (const { id } of created) {
      const heir = members.find((m) => m.project_id === id && m.user_id !== userId && m.role === "owner");
      if (heir) await trx.updateTable("projects").set({ owner_id: heir.user_id }).where("id", "=", id).execute();
    }
    const gone = new Set(created.map((p) => p.id).filter((id) => !members.some((m) => m.project_id === id && m.user_id !== userId && m.role === "owner")));
    for (const { project_id } of mine) {
      if (gone.has(project_id)) continue;
      await trx.deleteFrom("project_members").where("project_id", "=", project_id).where("user_id", "=", userId).execute();
      await appendEvent(trx, project_id, "member.updated", { projectId: project_id, userId, role: null }, { userId });
    }
    await trx.deleteFrom("users").where("id", "=", userId).execute();
    return { projectIds, members };
  });
  deps.afterCommit();
  await deps.cache.del(aliveKey(userId), ...touched.projectIds.map(projectKey), ...touched.members.map((m) => memberKey(m.project_id, m.user_id)));
}

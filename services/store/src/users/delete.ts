import type { StoreDeps } from "../deps.js";
import { memberKey } from "../authz.js";
import { projectKey } from "../projects/cache.js";
import { putMemberTx, removeMemberTx } from "../projects/changes.js";
import { accessKey } from "./access.js";
import { deleteProjects, deleteUser, lockProjects, membersOf, projectsOf, setProjectOwner } from "./repo.js";

/**
 * DeleteMe. No project is left without an owner: where this user was the last owner, ownership
 * passes to the longest-standing editor (or, with no editor, the longest-standing viewer), who
 * is told by a member.updated event. A project with no other member goes with the account.
 * Every surviving project gets member.updated (role null) for the leaver, as when a member
 * leaves; a project they created is re-attributed to one of its owners.
 */
export async function deleteAccount(deps: StoreDeps, userId: string): Promise<void> {
  const touched = await deps.db.transaction().execute(async (trx) => {
    const { mine, created } = await projectsOf(trx, userId);
    const projectIds = [...new Set([...mine, ...created])].sort();
    // Lock in a stable order, so two deletions sharing projects cannot deadlock.
    await lockProjects(trx, projectIds);
    const members = await membersOf(trx, projectIds);
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
        await putMemberTx(trx, projectId, owner.user_id, "owner", owner.role, { userId });
      }
      if (created.includes(projectId)) await setProjectOwner(trx, projectId, owner.user_id);
      if (mine.includes(projectId)) await removeMemberTx(trx, projectId, userId, { userId });
    }
    await deleteProjects(trx, gone);
    await deleteUser(trx, userId);
    return { projectIds, members };
  });
  deps.afterCommit();
  await deps.cache.del(accessKey(userId), ...touched.projectIds.map(projectKey), ...touched.members.map((m) => memberKey(m.project_id, m.user_id)));
}

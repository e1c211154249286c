import { notFound } from "@sker/kit";
import type { Transaction } from "kysely";
import type { Database, ProjectRow, Role } from "../db/schema.js";
import { appendEvent, type Actor } from "../events/append.js";
import { payload } from "../events/payload.js";
import { type MemberView } from "./map.js";
import { deleteMember, hideProject, memberIdsOf, memberView, patchProject, upsertMember } from "./repo.js";
import type { checkUpdate } from "./validate.js";

// Project and membership writes with their events, each in the caller's transaction.
// (Creating a project writes no event: nobody can be subscribed to it yet.)

type Trx = Transaction<Database>;

export async function updateProjectTx(trx: Trx, id: string, patch: ReturnType<typeof checkUpdate>, by: Actor): Promise<ProjectRow> {
  const p = await patchProject(trx, id, patch);
  if (!p) throw notFound("project");
  await appendEvent(trx, id, "project.updated", payload.project(p), by);
  return p;
}

/** Hides the project (project.deleted); answers its members, whose cached roles go with it. */
export async function deleteProjectTx(trx: Trx, id: string, by: Actor): Promise<string[]> {
  if (!(await hideProject(trx, id))) throw notFound("project");
  await appendEvent(trx, id, "project.deleted", payload.deleted(id), by);
  return memberIdsOf(trx, id);
}

/** Gives the user `role` in the project (adding them); member.updated when that is a change from `current`. */
export async function putMemberTx(trx: Trx, projectId: string, userId: string, role: Role, current: Role | undefined, by: Actor): Promise<MemberView> {
  await upsertMember(trx, projectId, userId, role);
  const view = await memberView(trx, projectId, userId);
  if (!view) throw new Error(`member ${userId} of ${projectId} vanished inside its own transaction`);
  if (current !== role) await appendEvent(trx, projectId, "member.updated", payload.member(view), by);
  return view;
}

/** Takes the user out of the project: member.updated with role null, as clients expect of a leaver. */
export async function removeMemberTx(trx: Trx, projectId: string, userId: string, by: Actor): Promise<void> {
  await deleteMember(trx, projectId, userId);
  await appendEvent(trx, projectId, "member.updated", payload.memberRemoved(projectId, userId), by);
}

import type { ProjectRow } from "../db/schema.js";
import type { StoreDeps } from "../deps.js";
import { memberKey } from "../authz.js";
import { findProject } from "./repo.js";

// Cache-aside for live projects. Every project write deletes the key after commit; the TTL
// bounds what a reader racing a writer can leave behind.
const TTL_SECONDS = 60;

export const projectKey = (id: string) => `project:${id}`;

export async function cachedProject(deps: StoreDeps, id: string): Promise<ProjectRow | undefined> {
  const hit = await deps.cache.get<ProjectRow>(projectKey(id));
  if (hit) return hit;
  const row = await findProject(deps.db, id);
  if (row) await deps.cache.set(projectKey(id), row, TTL_SECONDS);
  return row;
}

export async function forgetProject(deps: StoreDeps, id: string, memberIds: string[] = []): Promise<void> {
  await deps.cache.del(projectKey(id), ...memberIds.map((u) => memberKey(id, u)));
}

import type { NodeRow, Role } from "../db/schema.js";
import { memberKeyOf } from "../authz.js";
import type { StoreDeps } from "../deps.js";
import { reviveNodeRow } from "./map.js";
import { findNode } from "./repo.js";

// Cache-aside for the hottest read (GetNode). Only live nodes are cached; every write to a
// node deletes its key after commit, and the TTL bounds what a racing reader can leave behind.
const TTL_SECONDS = 60;

export const nodeKey = (id: string) => `node:${id}`;

export async function cachedLiveNode(deps: StoreDeps, id: string): Promise<NodeRow | undefined> {
  const hit = await deps.cache.get<NodeRow>(nodeKey(id));
  if (hit) return reviveNodeRow(hit);
  const row = await findNode(deps.db, id);
  if (row) await deps.cache.set(nodeKey(id), row, TTL_SECONDS);
  return row;
}

/**
 * A live node and the caller's cached role in its project, in one cache round trip; the role is
 * undefined when not cached (requireRole then reads it as usual).
 */
export async function cachedLiveNodeAndRole(deps: StoreDeps, id: string, userId: string): Promise<{ row: NodeRow | undefined; role: Role | "none" | undefined }> {
  const [hit, role] = await deps.cache.getThen<NodeRow, Role | "none">(nodeKey(id), memberKeyOf(userId));
  if (hit) return { row: reviveNodeRow(hit), role };
  return { row: await cachedLiveNode(deps, id), role: undefined };
}

export async function forgetNodes(deps: StoreDeps, ids: string[]): Promise<void> {
  if (ids.length) await deps.cache.del(...ids.map(nodeKey));
}

import type { Transaction } from "kysely";
import { AppError } from "@sker/kit";
import type { Quotas } from "@sker/contracts/limits";
import type { Database } from "../db/schema.js";
import { apiKeys, lockUser, ownedProjects, projectUsage, type Usage } from "./repo.js";

// Quotas are checked in the transaction of the write they limit, so concurrent writes at the
// edge cannot overshoot: user-scoped creates serialize on the user's row, node writes on the
// project's row (whose usage columns the nodes_usage trigger keeps).

type Trx = Transaction<Database>;

const WHAT: Record<keyof Quotas, string> = {
  projectsPerUser: "projects per user",
  nodesPerProject: "nodes per project",
  bytesPerProject: "bytes of content per project",
  apiKeysPerUser: "API keys per user",
};

/** details: which quota, its limit, what is used now, and what the refused write would have added. */
export function quotaExceeded(quota: keyof Quotas, limit: number, used: number, requested = 1): AppError {
  return new AppError("QUOTA_EXCEEDED", `quota exceeded: at most ${limit} ${WHAT[quota]} (${used} used)`, { quota, limit, used, requested });
}

/** Before inserting a project owned by `userId`. */
export async function reserveProject(trx: Trx, userId: string, quotas: Quotas): Promise<void> {
  await lockUser(trx, userId);
  const used = await ownedProjects(trx, userId);
  if (used >= quotas.projectsPerUser) throw quotaExceeded("projectsPerUser", quotas.projectsPerUser, used);
}

/** Before inserting an API key of `userId`. */
export async function reserveApiKey(trx: Trx, userId: string, quotas: Quotas): Promise<void> {
  await lockUser(trx, userId);
  const used = await apiKeys(trx, userId);
  if (used >= quotas.apiKeysPerUser) throw quotaExceeded("apiKeysPerUser", quotas.apiKeysPerUser, used);
}

/**
 * Runs node writes of one project within its quotas, in the caller's transaction. The write's
 * trigger update locks the project row until commit, so the usage read after it is exact and
 * concurrent writers queue behind it; a write that added nodes or bytes past a quota is refused
 * and rolled back with the transaction. The project row is not locked before the write, which
 * keeps the lock order of node writes (node, then project) and so deadlock-free. A write that
 * did not grow the project passes even over a lowered quota, so it can be trimmed. `known`: the
 * usage as the caller read it earlier in the transaction (one statement fewer).
 */
export async function withinProjectQuota<T>(trx: Trx, projectId: string, quotas: Quotas, write: () => Promise<T>, known?: Usage): Promise<T> {
  const before = known ?? (await projectUsage(trx, projectId));
  const out = await write();
  refuseGrowth(quotas, before, await projectUsage(trx, projectId));
  return out;
}

/**
 * withinProjectQuota's check, for a caller that reads the usage after its write itself (in a
 * later statement of the same transaction, e.g. with the project's events): throws when the
 * write grew the project past a quota, so the transaction rolls back.
 */
export function refuseGrowth(quotas: Quotas, before: Usage, after: Usage): void {
  if (after.nodes > before.nodes && after.nodes > quotas.nodesPerProject)
    throw quotaExceeded("nodesPerProject", quotas.nodesPerProject, before.nodes, after.nodes - before.nodes);
  if (after.bytes > before.bytes && after.bytes > quotas.bytesPerProject)
    throw quotaExceeded("bytesPerProject", quotas.bytesPerProject, before.bytes, after.bytes - before.bytes);
}

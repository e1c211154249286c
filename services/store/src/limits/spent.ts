import type { StoreDeps } from "../deps.js";

/**
 * Runs the write that a submission of the user's AI budget was spent on; if it throws, or
 * creates nothing (undefined: another call with the same idempotency key won), the submission is
 * given back, so bad input never costs budget.
 */
export async function spentOnlyIfCreated<T>(deps: Pick<StoreDeps, "aiLimit">, userId: string, write: () => Promise<T>): Promise<T> {
  let created: T | undefined;
  try {
    created = await write();
    return created;
  } finally {
    if (created === undefined) await deps.aiLimit.refund(userId);
  }
}

import { AppError } from "@sker/kit";
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

/**
 * A submission spent from the user's AI budget while the checks before it run beside it (one
 * round trip, not one after the other). `kept()` throws the refusal (RATE_LIMITED) when the budget
 * was used up; `giveBack()` is for when no task comes of it (a stranger, a repeated key): a
 * refused spend is given back too, since the limiter counts refusals as well.
 */
export function spendBeside(deps: Pick<StoreDeps, "aiLimit">, userId: string) {
  const refused = deps.aiLimit.spend(userId).then(
    () => undefined,
    (err: unknown) => err,
  );
  return {
    async kept(): Promise<void> {
      const err = await refused;
      if (err !== undefined) throw err;
    },
    async giveBack(): Promise<void> {
      const err = await refused;
      if (err === undefined || (err instanceof AppError && err.code === "RATE_LIMITED")) await deps.aiLimit.refund(userId);
    },
  };
}

import { setTimeout as sleep } from "node:timers/promises";
import { AppError } from "@sker/kit";

/** Transient store trouble: try a few times before giving up on the call. */
export async function withStoreRetry<T>(fn: () => Promise<T>, tries = 4): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      const transient = err instanceof AppError && (err.code === "UNAVAILABLE" || err.code === "DEADLINE_EXCEEDED");
      if (!transient || i >= tries) throw err;
      await sleep(100 * 2 ** i);
    }
  }
}

import type { Transaction } from "kysely";
import type { Database } from "../db/schema.js";

type Trx = Transaction<Database>;

/** The project's usage as this transaction sees it (the trigger keeps it, own writes included). */
export type Usage = { nodes: number; bytes: number };

export async function projectUsage(trx: Trx, projectId: string): Promise<Usage> {
  const row = await trx.selectFrom("projects").select(["node_count", "content_bytes"]).where("id", "=", projectId).executeTakeFirstOrThrow();
  return { nodes: Number(row.node_count), bytes: Number(row.content_bytes) };
}

/**
 * Serializes a user's quota-counted creates: concurrent ones wait here, so each counts what the
 * previous one committed. NO KEY UPDATE does not block rows that merely reference the user.
 */
export async function lockUser(trx: Trx, userId: string): Promise<void> {
  await trx.selectFrom("users").select("id").where("id", "=", userId).forNoKeyUpdate().executeTakeFirst();
}

export async function ownedProjects(trx: Trx, userId: string): Promise<number> {
  const { n } = await trx
    .selectFrom("projects")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("owner_id", "=", userId)
    .where("deleted_at", "is", null)
    .executeTakeFirstOrThrow();
  return Number(n);
}

export async function apiKeys(trx: Trx, userId: string): Promise<number> {
  const { n } = await trx.selectFrom("api_keys").select((eb) => eb.fn.countAll<number>().as("n")).where("user_id", "=", userId).executeTakeFirstOrThrow();
  return Number(n);
}

import { AppError } from "@sker/kit";
import type { Transaction } from "kysely";
import type { ConnectionRow, ConnectionType, Database } from "../db/schema.js";
import { appendEvent, type Actor } from "../events/append.js";
import { payload } from "../events/payload.js";
import { deleteConnection, insertConnection, patchConnection } from "./repo.js";
import type { ConnectionPatch } from "./validate.js";

// Connection writes that other resources reuse (AI tasks link the nodes they create).
// The caller has checked both ends are live nodes of the project, in its transaction.

export const alreadyExists = (cause?: unknown) => new AppError("CONFLICT", "a connection of this type between these nodes already exists", undefined, { cause });

export async function createConnectionTx(
  trx: Transaction<Database>,
  v: { projectId: string; sourceNodeId: string; targetNodeId: string; type: ConnectionType; label?: string; weight?: number; createdBy: string | null },
  by: Actor,
): Promise<ConnectionRow> {
  const row = await insertConnection(trx, v);
  if (!row) throw alreadyExists();
  await appendEvent(trx, row.project_id, "connection.created", payload.connection(row), by);
  return row;
}

export async function updateConnectionTx(trx: Transaction<Database>, id: string, patch: ConnectionPatch, by: Actor): Promise<ConnectionRow> {
  const row = await patchConnection(trx, id, patch);
  await appendEvent(trx, row.project_id, "connection.updated", payload.connection(row), by);
  return row;
}

export async function deleteConnectionTx(trx: Transaction<Database>, before: ConnectionRow, by: Actor): Promise<void> {
  await deleteConnection(trx, before.id);
  await appendEvent(trx, before.project_id, "connection.deleted", payload.deleted(before.id), by);
}

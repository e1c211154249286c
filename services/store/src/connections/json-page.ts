import { sql, type Kysely } from "kysely";
import type { ConnectionJson } from "@sker/contracts/store/v1/connection";
import type { Database } from "../db/schema.js";
import { isoMs } from "../db/sql.js";
import { encodeCursor } from "../input/page.js";
import { listed } from "./repo.js";
import type { ConnectionFilter } from "./validate.js";

/**
 * The page listConnections answers (same rows, same cursor), each connection as PostgreSQL wrote
 * its REST JSON (sker_connection_rest, migration 0015) beside its two ends: the store parses no
 * timestamp and builds no Connection message.
 */
export async function listConnectionsJson(db: Kysely<Database>, f: ConnectionFilter): Promise<{ connections: ConnectionJson[]; nextCursor: string }> {
  const rows = await listed(db, f)
    .select(["id", "source_node_id", "target_node_id", sql<string>`sker_connection_rest(connections)`.as("json"), isoMs(sql`created_at`).as("at")])
    .execute();
  const items = rows.slice(0, f.page.limit);
  const last = items[items.length - 1];
  return {
    connections: items.map((r) => ({ sourceNodeId: r.source_node_id, targetNodeId: r.target_node_id, json: Buffer.from(r.json) })),
    nextCursor: rows.length > f.page.limit ? encodeCursor({ at: new Date(last.at), id: last.id }) : "",
  };
}

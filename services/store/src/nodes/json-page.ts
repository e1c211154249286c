import { sql, type Kysely } from "kysely";
import { LIMITS } from "@sker/contracts/limits";
import type { Database } from "../db/schema.js";
import { encodeCursor } from "../input/page.js";
import { filtered, rowBytes } from "./repo.js";
import type { NodeFilter } from "./validate.js";

/** A page of nodes as PostgreSQL wrote their REST JSON (sker_node_rest, migration 0015). */
export interface NodeJsonPage {
  /** The nodes' JSON objects joined by ","; "" for an empty page. */
  json: string;
  ids: string[];
  nextCursor: string;
}

/**
 * The page listNodes (repo.ts) answers, in one statement: the same rows (same filter, same
 * byte cut on the same sizes, at least one row), rendered and joined by PostgreSQL, so the
 * store parses no row and builds no message per node. Only the kept rows are rendered; the sizes
 * come from the columns, so a row too big for the page is never made into JSON. The JSON can be
 * larger than the sizes (escapes, field names: at most about 6× for text made of control
 * characters), which a page cut to LIMITS.page.bytes leaves well within the gRPC message limit.
 */
export async function listNodesJson(db: Kysely<Database>, f: NodeFilter): Promise<NodeJsonPage> {
  const sizes = filtered(db, f)
    .select(["id", "created_at", rowBytes.as("bytes")])
    .orderBy("created_at")
    .orderBy("id")
    .limit(f.page.limit + 1);
  const { rows } = await sql<{ json: string | null; ids: string | null; last_at: Date | null; more: boolean }>`
    WITH sizes AS (${sizes}),
    cut AS (
      SELECT id, created_at, row_number() OVER w AS rn, sum(bytes) OVER w AS used
      FROM sizes WINDOW w AS (ORDER BY created_at, id ROWS UNBOUNDED PRECEDING)
    ),
    kept AS (SELECT id, created_at FROM cut WHERE rn <= ${f.page.limit} AND (rn = 1 OR used <= ${LIMITS.page.bytes}))
    SELECT
      (SELECT string_agg(sker_node_rest(n), ',' ORDER BY n.created_at, n.id) FROM kept JOIN nodes n ON n.id = kept.id) AS json,
      (SELECT string_agg(id::text, ',' ORDER BY created_at, id) FROM kept) AS ids,
      (SELECT max(created_at) FROM kept) AS last_at,
      (SELECT count(*) FROM sizes) > (SELECT count(*) FROM kept) AS more`.execute(db);
  const row = rows[0];
  const ids = row?.ids ? row.ids.split(",") : [];
  const more = !!row?.more && ids.length > 0;
  return {
    json: row?.json ?? "",
    ids,
    nextCursor: more ? encodeCursor({ at: new Date(row.last_at!), id: ids[ids.length - 1] }) : "",
  };
}

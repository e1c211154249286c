import { sql, type Kysely } from "kysely";
import { LIMITS } from "@sker/contracts/limits";
import type { Database } from "../db/schema.js";
import { isoMs } from "../db/sql.js";
import { encodeCursor } from "../input/page.js";
import { filtered, rowBytes } from "./repo.js";
import type { NodeFilter } from "./validate.js";

/** A page of nodes as PostgreSQL wrote their REST JSON (sker_node_rest, migration 0015). */
export interface NodeJsonPage {
  /** The nodes' JSON objects joined by ","; empty for an empty page. */
  json: Buffer;
  ids: string[];
  nextCursor: string;
}

/**
 * The page listNodes (repo.ts) answers, in one statement: the same rows (same filter, same
 * byte cut on the same sizes, at least one row), each rendered by PostgreSQL, so the store
 * parses no column and builds no message per node. Only the kept rows are rendered (a row
 * past the cut is never made into JSON), in the order the window already has, so PostgreSQL
 * sorts nothing it rendered. Rows rather than one string_agg: on this kind of machine a large
 * fresh buffer costs more than the copy into it (page faults), in PostgreSQL and in the driver
 * alike, and one row of a megabyte is such a buffer several times over; the page is joined
 * once, here, into the one buffer gRPC sends.
 *
 * The JSON can be larger than the sizes the cut counts (escapes, field names: at most about 6×
 * for text made of control characters), which leaves a page of LIMITS.page.bytes well within
 * the gRPC message limit.
 */
export async function listNodesJson(db: Kysely<Database>, f: NodeFilter): Promise<NodeJsonPage> {
  const candidates = filtered(db, f)
    .select(["id", "created_at", "title", "content", "metadata"])
    .orderBy("created_at")
    .orderBy("id")
    .limit(f.page.limit + 1);
  const { rows } = await sql<{ id: string; at: string; json: string; fetched: number | string }>`
    SELECT n.id, ${isoMs(sql`n.created_at`)} AS at, sker_node_rest(n) AS json, k.fetched
    FROM (
      SELECT id, created_at, fetched FROM (
        SELECT id, created_at, row_number() OVER w AS rn, sum(${rowBytes}) OVER w AS used, count(*) OVER () AS fetched
        FROM (${candidates}) AS s
        WINDOW w AS (ORDER BY created_at, id ROWS UNBOUNDED PRECEDING)
      ) AS c
      WHERE rn <= ${f.page.limit} AND (rn = 1 OR used <= ${LIMITS.page.bytes})
    ) AS k
    JOIN nodes n ON n.id = k.id
    ORDER BY k.created_at, k.id`.execute(db);
  const last = rows[rows.length - 1];
  return {
    json: joined(rows.map((r) => r.json)),
    ids: rows.map((r) => r.id),
    nextCursor: last && Number(last.fetched) > rows.length ? encodeCursor({ at: new Date(last.at), id: last.id }) : "",
  };
}

/** JSON texts joined by "," into one buffer, written once. */
function joined(parts: string[]): Buffer {
  let size = Math.max(0, parts.length - 1);
  for (const p of parts) size += Buffer.byteLength(p);
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  parts.forEach((p, i) => {
    if (i > 0) at = out.writeUInt8(0x2c, at);
    at += out.write(p, at);
  });
  return out;
}

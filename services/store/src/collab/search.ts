import { invalid, type CallContext } from "@sker/kit";
import type { SearchRequest, SearchResponse } from "@sker/contracts/store/v1/collab";
import { sql } from "kysely";
import { userOf } from "../authz.js";
import type { StoreDeps } from "../deps.js";
import { optionalId } from "../input/ids.js";
import { DEFAULT_LIMIT } from "../input/page.js";
import { makeSnippet } from "./snippet.js";

/**
 * `candidates`: a word in half the corpus must not mean ranking half the corpus on every
 * keystroke; the newest matches this many deep are ranked (the offset cap stays inside them).
 */
export const SEARCH_LIMITS = { query: 200, terms: 8, pageLimit: 100, maxOffset: 1000, candidates: 2000 };
/** How much of a node's text the rank reads: ranking a 100 kB note in full costs more than it tells. */
const RANKED_CHARS = 4000;

const likePattern = (t: string) => `%${t.replace(/[\\%_]/g, "\\$&")}%`;

function parseQuery(raw: string): string[] {
  const q = raw.trim();
  if (q === "") throw invalid("q", "is required");
  if (q.length > SEARCH_LIMITS.query) throw invalid("q", `must be at most ${SEARCH_LIMITS.query} characters`);
  if (q.includes("\u0000")) throw invalid("q", "must not contain NUL characters");
  const terms = [...new Set(q.split(/\s+/u).map((t) => t.toLowerCase()))];
  if (terms.length > SEARCH_LIMITS.terms) throw invalid("q", `must have at most ${SEARCH_LIMITS.terms} words`);
  return terms;
}

function parseOffset(cursor: string | undefined): number {
  if (!cursor) return 0;
  const n = /^\d{1,6}$/.test(cursor) ? Number(cursor) : NaN;
  if (!(n > 0 && n <= SEARCH_LIMITS.maxOffset)) throw invalid("cursor", "is not a cursor this service issued");
  return n;
}

/**
 * Every live node of every live project the caller is a member of whose title or content holds
 * every word of the query (case-insensitive substrings: works without word boundaries, as in
 * Chinese). Membership is a join in the query itself, so nothing of another tenant is read.
 * Each word is its own ILIKE so the trigram index serves each (GIN cannot serve `ILIKE ALL`);
 * words under 3 characters match by scanning the caller's nodes. Ranked: a title holding every
 * word first, then PostgreSQL's text-search rank ('simple' configuration), then newest, among
 * the newest `candidates` matches.
 */
export async function searchNodes(deps: StoreDeps, req: SearchRequest, ctx: CallContext): Promise<SearchResponse> {
  const terms = parseQuery(req.query);
  const projectId = optionalId("projectId", req.projectId);
  const limit = req.page?.limit || DEFAULT_LIMIT;
  if (limit < 1 || limit > SEARCH_LIMITS.pageLimit) throw invalid("limit", `must be between 1 and ${SEARCH_LIMITS.pageLimit}`);
  const offset = parseOffset(req.page?.cursor);
  const userId = userOf(ctx.caller);
  const doc = sql`(n.title || ' ' || n.content)`;
  const matches = sql.join(terms.map((t) => sql`${doc} ILIKE ${likePattern(t)}`), sql` AND `);
  const inTitle = sql.join(terms.map((t) => sql`n.title ILIKE ${likePattern(t)}`), sql` AND `);
  const tsQuery = sql`plainto_tsquery('simple', ${terms.join(" ")})`;
  const { rows } = await sql<{ id: string; project_id: string; project_name: string; title: string; content: string; score: number }>`
    WITH n AS (
      SELECT n.id, n.project_id, p.name AS project_name, n.title, n.content, n.updated_at
      FROM nodes n
      JOIN project_members m ON m.project_id = n.project_id AND m.user_id = ${userId}
      JOIN projects p ON p.id = n.project_id AND p.deleted_at IS NULL
      WHERE n.deleted_at IS NULL AND ${matches} ${projectId ? sql`AND n.project_id = ${projectId}` : sql``}
      ORDER BY n.updated_at DESC, n.id
      LIMIT ${SEARCH_LIMITS.candidates}
    )
    SELECT n.id, n.project_id, n.project_name, n.title, n.content,
      (CASE WHEN ${inTitle} THEN 1 ELSE 0 END)
        + ts_rank(to_tsvector('simple', n.title || ' ' || left(n.content, ${RANKED_CHARS})), ${tsQuery}) AS score
    FROM n
    ORDER BY score DESC, n.updated_at DESC, n.id
    LIMIT ${limit + 1} OFFSET ${offset}
  `.execute(deps.db);
  const page = rows.slice(0, limit);
  return {
    hits: page.map((r) => ({
      nodeId: r.id,
      projectId: r.project_id,
      projectName: r.project_name,
      title: r.title,
      ...makeSnippet(r.content, r.title, terms),
      score: Number(r.score),
    })),
    nextCursor: rows.length > limit && offset + limit <= SEARCH_LIMITS.maxOffset ? String(offset + limit) : "",
  };
}

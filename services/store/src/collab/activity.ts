import { invalid, type CallContext } from "@sker/kit";
import type { ListActivityRequest, ListActivityResponse } from "@sker/contracts/store/v1/collab";
import { requireRole } from "../authz.js";
import type { StoreDeps } from "../deps.js";
import { eventToProto } from "../events/map.js";
import { parseId } from "../input/ids.js";
import { DEFAULT_LIMIT, MAX_LIMIT } from "../input/page.js";

/**
 * A project's history, newest first, from the events the store keeps anyway (retention prunes
 * the oldest). The cursor is the seq of the last item: seqs are unique per project.
 */
export async function listActivity(deps: StoreDeps, req: ListActivityRequest, ctx: CallContext): Promise<ListActivityResponse> {
  const projectId = parseId("projectId", req.projectId);
  const limit = req.page?.limit || DEFAULT_LIMIT;
  if (limit < 1 || limit > MAX_LIMIT) throw invalid("page.limit", `must be between 1 and ${MAX_LIMIT}`);
  const raw = req.page?.cursor ?? "";
  if (raw !== "" && !/^[1-9]\d{0,15}$/.test(raw)) throw invalid("page.cursor", "is not a cursor this service issued");
  await requireRole(deps, ctx, projectId, "viewer");
  let q = deps.db
    .selectFrom("events as e")
    .leftJoin("users as u", "u.id", "e.actor_user_id")
    .select(["e.project_id", "e.seq", "e.name", "e.data", "e.payload", "e.created_at", "e.actor_user_id", "e.actor_task_id", "u.username"])
    .where("e.project_id", "=", projectId);
  if (raw) q = q.where("e.seq", "<", Number(raw));
  const rows = await q.orderBy("e.seq", "desc").limit(limit + 1).execute();
  const items = rows.slice(0, limit);
  return {
    items: items.map((r) => ({ event: eventToProto(r), username: r.username ?? "" })),
    nextCursor: rows.length > limit ? String(items[items.length - 1].seq) : "",
  };
}

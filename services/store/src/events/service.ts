import { invalid, notFound, type Implementation } from "@sker/kit";
import type { EventServiceService } from "@sker/contracts/store/v1/event";
import { requireRole } from "../authz.js";
import type { StoreDeps } from "../deps.js";
import { LIMITS } from "@sker/contracts/limits";
import { sql } from "kysely";
import { parseId } from "../input/ids.js";
import { eventToProto } from "./map.js";

const DEFAULT_LIMIT = 500;

/** The seq of the last row within `budget` bytes (the first row always). */
function lastThatFits(sizes: { seq: number; bytes: number }[], budget: number): number | undefined {
  let used = 0;
  let last: number | undefined;
  for (const { seq, bytes } of sizes) {
    used += Number(bytes);
    if (last !== undefined && used > budget) break;
    last = Number(seq);
  }
  return last;
}
const MAX_LIMIT = 1000;

/** Replay for subscribers that missed events: seq > afterSeq, in order, up to the latest at read time. */
export function eventService(deps: StoreDeps): Implementation<typeof EventServiceService> {
  return {
    async listEvents(req, ctx) {
      const projectId = parseId("projectId", req.projectId);
      const afterSeq = req.afterSeq ?? 0;
      if (!Number.isInteger(afterSeq) || afterSeq < 0) throw invalid("afterSeq", "must be 0 or a positive integer");
      const limit = req.limit || DEFAULT_LIMIT;
      if (limit < 1 || limit > MAX_LIMIT) throw invalid("limit", `must be between 1 and ${MAX_LIMIT}`);
      await requireRole(deps, ctx, projectId, "viewer");
      // Read the counter first: every seq up to it is committed (it is bumped in the same transaction).
      const project = await deps.db.selectFrom("projects").select(["event_seq", "pruned_seq"]).where("id", "=", projectId).executeTakeFirst();
      if (!project) throw notFound("project");
      // Sizes first, then only the rows that fit LIMITS.page.bytes: a replay of large events is
      // more pages, never a message over the gRPC limit nor a whole page held in memory.
      const sizes = await deps.db
        .selectFrom("events")
        .select(["seq", sql<number>`octet_length(coalesce(payload, data)::text)`.as("bytes")])
        .where("project_id", "=", projectId)
        .where("seq", ">", afterSeq)
        .where("seq", "<=", project.event_seq)
        .orderBy("seq")
        .limit(limit)
        .execute();
      const upTo = lastThatFits(sizes, LIMITS.page.bytes);
      const rows =
        upTo === undefined
          ? []
          : await deps.db
              .selectFrom("events")
              .select(["project_id", "seq", "name", "data", "payload", "created_at", "actor_user_id", "actor_task_id"])
              .where("project_id", "=", projectId)
              .where("seq", ">", afterSeq)
              .where("seq", "<=", upTo)
              .orderBy("seq")
              .execute();
      return {
        events: rows.map(eventToProto),
        latestSeq: project.event_seq,
        prunedSeq: project.pruned_seq,
      };
    },
  };
}

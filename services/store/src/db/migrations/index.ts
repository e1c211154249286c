import type { Migration } from "kysely/migration";
import * as m0001 from "./0001_init.js";
import * as m0002 from "./0002_millisecond_timestamps.js";
import * as m0003 from "./0003_project_usage.js";
import * as m0004 from "./0004_task_dispatches.js";
import * as m0005 from "./0005_teams.js";
import * as m0006 from "./0006_collab.js";
import * as m0007 from "./0007_runs.js";
import * as m0008 from "./0008_usage_ledger.js";
import * as m0010 from "./0010_run_estimates.js";
import * as m0012 from "./0012_typed_events.js";
import * as m0013 from "./0013_start_task_function.js";
import * as m0014 from "./0014_start_task_marks_node.js";
import * as m0015 from "./0015_graph_json.js";

// Listed statically (not read from disk) so the same list works from src under vitest and from
// dist in production. New migrations: add a file 000N_name.ts and a line here; never edit old ones.
export const migrations: Record<string, Migration> = {
  "0001_init": m0001,
  "0002_millisecond_timestamps": m0002,
  "0003_project_usage": m0003,
  "0004_task_dispatches": m0004,
  "0005_teams": m0005,
  "0006_collab": m0006,
  "0007_runs": m0007,
  "0008_usage_ledger": m0008,
  "0010_run_estimates": m0010,
  "0012_typed_events": m0012,
  "0013_start_task_function": m0013,
  "0014_start_task_marks_node": m0014,
  "0015_graph_json": m0015,
};

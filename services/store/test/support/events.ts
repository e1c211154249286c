import type { Event } from "@sker/contracts/store/v1/event";
import type { EventRow } from "../../src/db/schema.js";
import { payloadOf } from "../../src/events/map.js";

/** The resource an event carries (the oneof's value), from a row or from a replayed Event. */
export function resourceOf(e: Pick<EventRow, "name" | "data" | "payload"> | Event): unknown {
  return ("projectId" in e ? e.payload : payloadOf(e))?.resource?.value;
}

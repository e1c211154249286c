import { UUID_PATTERN } from "@sker/contracts/limits";

/** Our ids are UUIDs (gen_random_uuid); anything else is a malformed id, not a missing one. */
export const UUID = new RegExp(UUID_PATTERN);

export const isUuid = (value: unknown): value is string => typeof value === "string" && UUID.test(value);

import { invalid, isUuid } from "@sker/kit";

/** A malformed id is the caller's mistake (INVALID_ARGUMENT naming the field), not a NOT_FOUND. */
export function parseId(field: string, value: string | undefined): string {
  if (!isUuid(value)) throw invalid(field, "must be a UUID");
  return value.toLowerCase();
}

export function optionalId(field: string, value: string | undefined): string | null {
  return value ? parseId(field, value) : null;
}

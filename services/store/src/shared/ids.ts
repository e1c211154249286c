import { invalid } from "@sker/kit";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A malformed id is the caller's mistake (INVALID_ARGUMENT naming the field), not a NOT_FOUND. */
export function parseId(field: string, value: string | undefined): string {
  if (!value || !UUID.test(value)) throw invalid(field, "must be a UUID");
  return value.toLowerCase();
}

export function optionalId(field: string, value: string | undefined): string | null {
  return value ? parseId(field, value) : null;
}

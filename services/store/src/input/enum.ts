import { fromProtoEnum, invalid } from "@sker/kit";

/**
 * A request enum → its db value. UNSPECIFIED (the proto3 default) means "not given";
 * a number this build does not know arrives as UNRECOGNIZED and is the caller's mistake.
 */
export function parseEnum<T extends string>(field: string, value: string | undefined, prefix: string): T | undefined {
  if (value === "UNRECOGNIZED" || (value && !value.startsWith(prefix))) throw invalid(field, "is not a known value");
  return fromProtoEnum<T>(value, prefix);
}

export function requireEnum<T extends string>(field: string, value: string | undefined, prefix: string): T {
  const v = parseEnum<T>(field, value, prefix);
  if (!v) throw invalid(field, "is required");
  return v;
}

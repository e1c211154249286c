// Protobuf enums travel as "NODE_STATUS_IDLE"; the database and REST speak "idle".
// One mapping for all of them: strip the enum's prefix and lowercase.

/** "NODE_STATUS_IDLE", "NODE_STATUS_" → "idle"; the UNSPECIFIED value → undefined. */
export function fromProtoEnum<T extends string>(value: string | undefined, prefix: string): T | undefined {
  if (!value || !value.startsWith(prefix)) return undefined;
  const v = value.slice(prefix.length).toLowerCase();
  return v === "unspecified" || v === "unrecognized" ? undefined : (v as T);
}

/** "idle", "NODE_STATUS_" → "NODE_STATUS_IDLE". */
export function toProtoEnum<E extends string>(value: string, prefix: string): E {
  return `${prefix}${value.toUpperCase()}` as E;
}

// Cached values go through JSON in both implementations (so the in-memory cache behaves like
// Redis and nobody mutates a shared object), with Dates kept as Dates: kysely rows carry them.
const DATE = "$date";

export function encode(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key, v) {
    const original = this[key];
    return original instanceof Date ? { [DATE]: original.toISOString() } : v;
  });
}

export function decode<T>(raw: string): T {
  return JSON.parse(raw, (_key, v) =>
    v !== null && typeof v === "object" && !Array.isArray(v) && typeof v[DATE] === "string" && Object.keys(v).length === 1 ? new Date(v[DATE]) : v,
  ) as T;
}

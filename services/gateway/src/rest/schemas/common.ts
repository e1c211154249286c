import { Type, type Static, type TProperties, type TSchema } from "typebox";
import { JSON_DEPTH, LIMITS, UUID_PATTERN } from "@sker/contracts/limits";

// Building blocks of the REST contract's JSON schemas (docs/api.md). What a request carries
// (body, query, params, headers) is a TypeBox schema: the route's types come from the schema
// that checks the request (the Fastify type provider), never from a hand-written copy. Request
// bodies are closed (additionalProperties: false): an unknown field is a 400 naming it.
// Responses are the plain JSON schemas of what rest/map.ts produces; fast-json-stringify
// serializes them and @fastify/swagger publishes both.

type S = Record<string, unknown>;

// ---- request parts ---------------------------------------------------------------------

export const uuid = Type.String({ format: "uuid", pattern: UUID_PATTERN });
export const str = (maxLength: number, minLength = 0) => Type.String({ minLength, maxLength });
/** A REST enum (lowercase protobuf names, from @sker/contracts/enums). */
export const en = (values: readonly string[], options: S = {}) => Type.Unsafe<string>({ type: "string", enum: [...values], ...options });
export const opt = Type.Optional;
/** A weight or confidence: 0 to 1. */
export const unit = Type.Number({ minimum: 0, maximum: 1 });
/** A request object that refuses unknown fields; optional fields are marked with opt(). */
export const closed = <P extends TProperties>(properties: P, options: S = {}) => Type.Object(properties, { additionalProperties: false, ...options });
/** The same, every field optional (a PATCH body). */
export const partial = <P extends TProperties>(properties: P) => closed(Type.Partial(Type.Object(properties)).properties);
/** `T | null` as JSON schema's type list, which OpenAPI 3.0 tools read ("anyOf" would not be). */
export const orNull = <T extends TSchema>(schema: T, options: S = {}) => {
  const { type, ...rest } = schema as unknown as S;
  return Type.Unsafe<Static<T> | null>({ ...rest, type: [type, "null"], ...options });
};
/** A free JSON object within the contract's depth and byte limits (enforced by rest/ajv.ts). */
export const jsonIn = (maxBytes: number) =>
  Type.Unsafe<{ [k: string]: unknown }>({ type: "object", additionalProperties: true, "x-maxDepth": JSON_DEPTH, "x-maxBytes": maxBytes });

export const idParams = closed({ id: uuid });
/** `limit` is filled from its default by the query validator: absent only to the type checker. */
export const pageQuery = {
  limit: opt(Type.Integer({ minimum: 1, maximum: LIMITS.page.max, default: LIMITS.page.default })),
  cursor: opt(str(LIMITS.page.cursor, 1)),
};
/** A list route's query when the list takes no filter. */
export const listQuery = Type.Object(pageQuery);
/** An Idempotency-Key header: the same key from the same user answers the first result. */
export const idempotencyHeaders = Type.Object({ "idempotency-key": opt(str(LIMITS.task.idempotencyKey, 1)) });

// ---- response parts (plain JSON schema) ------------------------------------------------

export const nstr = { type: ["string", "null"] } as const;
export const time = { type: ["string", "null"], format: "date-time" } as const;
export const freeObject = { type: "object", additionalProperties: true } as const;
export const open = (properties: S) => ({ type: "object", properties });
export const enumOut = (values: readonly string[]) => ({ type: "string", enum: [...values] });
export const nullableEnumOut = (values: readonly string[]) => ({ type: ["string", "null"], enum: [...values, null] });

export const ok = (data: S) => ({ type: "object", properties: { success: { type: "boolean" }, data } });
export const listOf = (item: S) => ok({ type: "object", properties: { items: { type: "array", items: item }, nextCursor: nstr } });
export const errorEnvelope = {
  type: "object",
  properties: {
    success: { type: "boolean" },
    error: {
      type: "object",
      properties: { code: { type: "string" }, message: { type: "string" }, details: freeObject },
    },
    requestId: { type: "string" },
  },
};
export const noContent = { type: "null", description: "No content" };

import { Ajv } from "ajv";
import addFormatsModule from "ajv-formats";

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/**
 * The gateway's one way to build a validator, with formats (uuid, email, date-time). Bodies are
 * validated strictly (no coercion, no defaults, unknown fields rejected by the schemas) wherever
 * they arrive, REST or WebSocket; query strings and params coerce ("20" → 20) and fill defaults.
 */
export function createAjv(part: "body" | "query"): Ajv {
  const body = part === "body";
  return addFormats(new Ajv({ allErrors: true, coerceTypes: body ? false : "array", useDefaults: !body, removeAdditional: false, strict: false }));
}

import { Ajv } from "ajv";
import addFormatsModule from "ajv-formats";
import { jsonDepth } from "@sker/kit";
import { JSON_DEPTH } from "@sker/contracts/limits";

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

// Ajv calls `unicode: false` deprecated but keeps honouring it; that one notice is dropped so it
// does not print on every start. Anything else Ajv has to say still reaches stderr.
const logger = {
  log: console.log,
  warn: (...args: unknown[]) => {
    if (!String(args[0]).startsWith("DEPRECATED: option unicode")) console.warn(...args);
  },
  error: console.error,
};

/**
 * The gateway's one way to build a validator, with formats (uuid, email, date-time). Bodies are
 * validated strictly (no coercion, no defaults, unknown fields rejected by the schemas) wherever
 * they arrive, REST or WebSocket; query strings and params coerce ("20" → 20) and fill defaults.
 * maxLength counts UTF-16 code units (unicode: false), as String#length does in the store and
 * broker, so a limit means the same number everywhere.
 */
export function createAjv(part: "body" | "query"): Ajv {
  const body = part === "body";
  const ajv = addFormats(
    new Ajv({ allErrors: true, coerceTypes: body ? false : "array", useDefaults: !body, removeAdditional: false, strict: false, unicode: false, logger }),
  );
  return addJsonLimits(ajv);
}

/**
 * Free JSON fields carry `x-maxDepth` (levels of nesting, the field's own object being 1) and
 * `x-maxBytes` (of its UTF-8 JSON text): OpenAPI extensions, so the published document states
 * them, and keywords here, so the gateway enforces what it publishes.
 */
function addJsonLimits(ajv: Ajv): Ajv {
  ajv.addKeyword({
    keyword: "x-maxDepth",
    schemaType: "number",
    error: { message: ({ schema }) => `must be nested at most ${schema} levels deep` },
    validate: (max: number, data: unknown) => jsonDepth(data) <= max,
  });
  ajv.addKeyword({
    keyword: "x-maxBytes",
    schemaType: "number",
    error: { message: ({ schema }) => `must be at most ${schema} bytes as JSON` },
    // JSON.stringify recurses: a value nested thousands deep would overflow the stack. Such a
    // value is refused by x-maxDepth, which every field with x-maxBytes also carries.
    validate: (max: number, data: unknown) => jsonDepth(data) > 2 * JSON_DEPTH || Buffer.byteLength(JSON.stringify(data) ?? "") <= max,
  });
  return ajv;
}

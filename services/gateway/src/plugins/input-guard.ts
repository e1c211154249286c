import fp from "fastify-plugin";
import { findBadText, findTooDeep, invalid } from "@sker/kit";
import { JSON_DEPTH } from "@sker/contracts/limits";

/**
 * No body may nest deeper than this, whatever its route's schema says (routes that take a whole
 * document, such as an import, have open schemas): a free JSON field of JSON_DEPTH levels fits
 * several times over, and code that walks a body recursively (JSON.stringify, protobuf) is safe.
 */
export const BODY_DEPTH = 4 * JSON_DEPTH;

// Every route, public ones included (/auth/*), refuses before its schema runs, as a 400 naming
// the field: text that cannot be stored — NUL or a lone surrogate in any string or key of the
// body, the query or the path — and a body nested deeper than BODY_DEPTH.
export const inputGuardPlugin = fp(
  async (app) => {
    app.addHook("preValidation", async (req) => {
      const bad = findBadText(req.params) ?? findBadText(req.query) ?? findBadText(req.body) ?? findTooDeep(req.body, BODY_DEPTH);
      if (bad) throw invalid(bad.field, bad.message);
    });
  },
  { name: "sker-input-guard" },
);

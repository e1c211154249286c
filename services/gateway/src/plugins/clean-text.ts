import fp from "fastify-plugin";
import { findBadText, invalid } from "@sker/kit";

// Every route, public ones included (/auth/*), refuses text that cannot be stored — NUL or a
// lone surrogate in any string or key of the body, the query or the path — as a 400 naming the
// field, before the route's schema runs. Nothing downstream (the store, PostgreSQL) sees it.
export const cleanTextPlugin = fp(
  async (app) => {
    app.addHook("preValidation", async (req) => {
      const bad = findBadText(req.params) ?? findBadText(req.query) ?? findBadText(req.body);
      if (bad) throw invalid(bad.field, bad.message);
    });
  },
  { name: "sker-clean-text" },
);

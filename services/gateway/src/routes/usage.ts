import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { UsageScope } from "@sker/contracts/store/v1/usage";
import { getUsage } from "../rest/requests/usage.js";
import { idParams, ok } from "../rest/schemas/common.js";
import { UsageReport, usageQuery } from "../rest/schemas/usage.js";
import { usageOut } from "../rest/usage.js";
import { as, errorResponses, okBody, secured } from "./common.js";

// What AI spent, from the usage ledger (one row per provider call that used tokens).

export const usageRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { usage } = app.deps.clients;
  const tags = ["usage"];
  const response = { 200: ok(UsageReport), ...errorResponses };

  app.get(
    "/projects/:id/usage",
    { schema: { tags, summary: "A project's AI spending and its monthly budget (owners and editors)", security: secured, params: idParams, querystring: usageQuery(["day", "user", "model"]), response } },
    async (req) => okBody(usageOut(await usage.getUsage(getUsage(UsageScope.USAGE_SCOPE_PROJECT, req.query, req.params.id), as(req)), req.query.groupBy)),
  );

  app.get(
    "/users/me/usage",
    { schema: { tags, summary: "Your AI spending across projects and your monthly budget", security: secured, querystring: usageQuery(["day", "model", "project"]), response } },
    async (req) => okBody(usageOut(await usage.getUsage(getUsage(UsageScope.USAGE_SCOPE_ME, req.query), as(req)), req.query.groupBy)),
  );
};

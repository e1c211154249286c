import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { UsageScope } from "@sker/contracts/store/v1/usage";
import * as map from "../rest/map.js";
import { getUsage, setUserBudget } from "../rest/requests/usage.js";
import { listUsers } from "../rest/requests/users.js";
import { listOf, ok } from "../rest/schemas/common.js";
import { deadLetterParams, Info, Queues } from "../rest/schemas/system.js";
import { Task } from "../rest/schemas/tasks.js";
import { BudgetSchema, budgetParams, setBudget, UsageReport, usageQuery } from "../rest/schemas/usage.js";
import { AdminUser, adminUsersQuery, userIdParams } from "../rest/schemas/users.js";
import { budgetOut, usageOut } from "../rest/usage.js";
import { as, errorResponses, okBody, secured } from "./common.js";
import { dependencyHealth } from "./health.js";

// Admin routes (users whose role is admin in the database). The store and broker check the
// forwarded identity again.

export const systemRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook("onRequest", app.requireAdmin);
  const deps = app.deps;
  const health = dependencyHealth(deps);
  const tags = ["system"];

  app.get(
    "/info",
    {
      schema: {
        tags,
        security: secured,
        response: { 200: ok(Info), ...errorResponses },
      },
    },
    async () => {
      const [h, redis] = await Promise.all([
        health(),
        deps.redis
          ? deps.redis.ping().then(
              () => "up",
              () => "down",
            )
          : Promise.resolve("in-memory"),
      ]);
      return okBody({
        version: deps.config.version,
        uptimeSeconds: Math.round((Date.now() - deps.state.startedAt) / 1000),
        dependencies: {
          store: h.store ? "up" : "down",
          broker: h.broker ? "up" : "down",
          redis,
          eventBus: deps.config.rabbitmqUrl ? "rabbitmq" : "in-process",
        },
      });
    },
  );

  app.get(
    "/queues",
    {
      schema: {
        tags,
        security: secured,
        response: { 200: ok(Queues), ...errorResponses },
      },
    },
    async (req) => {
      const res = await deps.clients.broker.getQueueStats({}, as(req));
      return okBody({ queues: res.queues, deadLetters: res.deadLetters, workers: res.workers });
    },
  );

  app.post(
    "/dead-letters/:taskId/replay",
    {
      schema: {
        tags,
        security: secured,
        params: deadLetterParams,
        response: { 200: ok(Task), ...errorResponses },
      },
    },
    async (req) => okBody(map.task((await deps.clients.broker.replayDeadLetter({ taskId: req.params.taskId }, as(req))).task)),
  );

  app.get(
    "/users",
    {
      schema: {
        tags,
        summary: "Every account, with role, state and last login",
        security: secured,
        querystring: adminUsersQuery,
        response: { 200: listOf(AdminUser), ...errorResponses },
      },
    },
    async (req) => {
      const res = await deps.clients.users.listUsers(listUsers(req.query), as(req));
      return okBody(map.page(res.users.map(map.adminUser), res.nextCursor));
    },
  );

  for (const [action, disabled] of [["disable", true], ["enable", false]] as const) {
    app.post(
      `/users/:id/${action}`,
      {
        schema: {
          tags,
          summary: disabled ? "Disable an account: it cannot sign in, and its tokens and sockets stop working at once" : "Re-enable a disabled account",
          security: secured,
          params: userIdParams,
          response: { 200: ok(AdminUser), ...errorResponses },
        },
      },
      async (req) => {
        const { user } = await deps.clients.users.setUserDisabled({ userId: req.params.id, disabled }, as(req));
        if (disabled) app.apiKeys.forgetUser(req.params.id);
        return okBody(user ? map.adminUser(user) : null);
      },
    );
  }

  app.get(
    "/usage",
    { schema: { tags, summary: "AI spending across the deployment", security: secured, querystring: usageQuery(["day", "user", "model", "project"]), response: { 200: ok(UsageReport), ...errorResponses } } },
    async (req) => okBody(usageOut(await deps.clients.usage.getUsage(getUsage(UsageScope.USAGE_SCOPE_SYSTEM, req.query), as(req)), req.query.groupBy)),
  );

  app.put(
    "/users/:userId/budget",
    {
      schema: {
        tags,
        summary: "Set a user's monthly AI budget (null: back to AI_USER_MONTHLY_BUDGET_USD)",
        security: secured,
        params: budgetParams,
        body: setBudget,
        response: { 200: ok({ type: "object", properties: { budget: BudgetSchema } }), ...errorResponses },
      },
    },
    async (req) => {
      const res = await deps.clients.usage.setUserBudget(setUserBudget(req.params.userId, req.body), as(req));
      return okBody({ budget: budgetOut(res.budget) });
    },
  );
};

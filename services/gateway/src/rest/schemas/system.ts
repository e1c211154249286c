import { Type } from "typebox";
import { closed } from "./common.js";

// Operations (admins): the deployment's state, queues and dead letters.

export const Info = {
  type: "object",
  properties: {
    version: { type: "string" },
    uptimeSeconds: { type: "number" },
    dependencies: { type: "object", additionalProperties: { type: "string" } },
  },
};

export const Queues = {
  type: "object",
  properties: {
    queues: { type: "array", items: { type: "object", properties: { name: { type: "string" }, messages: { type: "integer" }, consumers: { type: "integer" } } } },
    deadLetters: { type: "integer" },
    workers: { type: "integer" },
  },
};

export const deadLetterParams = closed({ taskId: Type.String({ format: "uuid" }) });

import type { Readable } from "node:stream";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { CallOptions } from "@sker/kit";
import { errorEnvelope } from "../rest/schemas/common.js";

/** Options for a gRPC call made for this request's user: their token, our request id. */
export const as = (req: FastifyRequest): CallOptions => ({ token: req.userToken, requestId: req.id });

export const secured: { [scheme: string]: string[] }[] = [{ bearer: [] }, { apiKey: [] }];

/** The error responses a route documents (all share the envelope). */
export const errorResponses = { "4xx": errorEnvelope, "5xx": errorEnvelope };

export const okBody = <T>(data: T) => ({ success: true as const, data });

/**
 * Sends a body that is already JSON text or a stream of it (an export file, the streamed graph):
 * the route's response schema documents its shape, but nothing here serializes it.
 */
export const sendJsonText = (reply: FastifyReply, body: Readable | string) => reply.type("application/json; charset=utf-8").serializer((s: string) => s).send(body);

import type { Readable } from "node:stream";
import type { FastifyReply, FastifyRequest } from "fastify";
import { forward, type CallOptions } from "@sker/kit";
import { errorEnvelope } from "../rest/schemas/common.js";

/**
 * Options for a gRPC call made for this request: the user's token (or `over.token`, a service's),
 * our request id, and the client's going away, which cancels the call.
 */
export const as = (req: FastifyRequest, over: Partial<CallOptions> = {}): CallOptions => forward({ token: req.userToken, requestId: req.id, signal: req.clientGone }, over);

export const secured: { [scheme: string]: string[] }[] = [{ bearer: [] }, { apiKey: [] }];

/** The error responses a route documents (all share the envelope). */
export const errorResponses = { "4xx": errorEnvelope, "5xx": errorEnvelope };

export const okBody = <T>(data: T) => ({ success: true as const, data });

/**
 * Sends a body that is already JSON: text, its bytes, or a stream of them (an export file, the streamed graph):
 * the route's response schema documents its shape, but nothing here serializes it.
 */
export const sendJsonText = (reply: FastifyReply, body: Readable | string | Buffer) => reply.type("application/json; charset=utf-8").serializer((s: string) => s).send(body);

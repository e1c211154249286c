import type { FastifyRequest } from "fastify";
import type { CallOptions } from "@sker/kit";
import { errorEnvelope } from "../rest/schemas.js";

/** Options for a gRPC call made for this request's user: their token, our request id. */
export const as = (req: FastifyRequest): CallOptions => ({ token: req.userToken, requestId: req.id });

export const secured: { [scheme: string]: string[] }[] = [{ bearer: [] }, { apiKey: [] }];

/** The error responses a route documents (all share the envelope). */
export const errorResponses = { "4xx": errorEnvelope, "5xx": errorEnvelope };

export const okBody = <T>(data: T) => ({ success: true as const, data });

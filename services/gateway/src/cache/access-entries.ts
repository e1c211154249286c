import { LRUCache } from "lru-cache";
import type { RequestUser } from "../types.js";

export interface AccessEntry {
  userId: string;
  /** The tick at which the read that proved it began. */
  t: number;
}

/**
 * "This credential read this project": proved by the store answering a read of it (the store
 * checks the account is alive, the token not revoked, and the membership). Bounded by entries,
 * with its own short TTL: the bound on a revocation whose announcement was lost.
 */
export function accessEntries(opts: { maxEntries: number; ttlMs: number }): LRUCache<string, AccessEntry> {
  return new LRUCache<string, AccessEntry>({ max: opts.maxEntries, ttl: opts.ttlMs, updateAgeOnGet: false });
}

/**
 * One credential, not one user: a logged-out token must not ride on its user's other sessions.
 * An access token by its id, an API key by its id; anything else is not cached.
 */
export function credentialOf(user: RequestUser | null): string | undefined {
  if (!user) return undefined;
  if (user.via === "jwt") return user.tokenId ? `t:${user.tokenId}` : undefined;
  return user.apiKeyId ? `k:${user.apiKeyId}` : undefined;
}

export const accessKey = (credential: string, projectId: string) => `${credential}|${projectId}`;

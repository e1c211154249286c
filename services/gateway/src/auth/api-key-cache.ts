import { createHash } from "node:crypto";
import { AppError } from "@sker/kit";
import type { Clients } from "../clients.js";
import type { RequestUser } from "../types.js";

interface Entry {
  user: RequestUser;
  /** The short-lived access token the store issued for this key, forwarded on further calls. */
  token: string;
  until: number;
}

const MAX_ENTRIES = 10_000;
/** How long a key the store refused is refused from memory. */
const FAILURE_MS = 10_000;

/**
 * X-API-Key → user, verified by the store (VerifyApiKey, with the gateway's service token) and
 * remembered briefly so a key does not cost a second RPC per request. Keys are held by their
 * hash only. A refused key is refused from memory for 10 s, so repeating a bad key does not
 * cost a store call each time (keys are random: no one holds a key before it is created, so
 * this never delays a new one). Only UNAUTHENTICATED is remembered, not a store outage.
 */
export class ApiKeyCache {
  private readonly entries = new Map<string, Entry>();
  private readonly refused = new Map<string, { until: number; error: AppError }>();

  constructor(
    private readonly clients: Clients,
    private readonly serviceToken: () => Promise<string>,
    private readonly ttlMs: number,
  ) {}

  /** beforeStore runs only when the store is about to be asked (it may throw to refuse). */
  async verify(key: string, requestId: string, beforeStore: () => void = () => {}): Promise<{ user: RequestUser; token: string }> {
    const id = createHash("sha256").update(key).digest("base64url");
    const now = Date.now();
    const hit = this.entries.get(id);
    if (hit && hit.until > now) return hit;
    const no = this.refused.get(id);
    if (no && no.until > now) throw no.error;
    if (no) this.refused.delete(id);
    beforeStore();
    let res;
    try {
      res = await this.clients.users.verifyApiKey({ key }, { token: await this.serviceToken(), requestId });
    } catch (err) {
      if (err instanceof AppError && err.code === "UNAUTHENTICATED") {
        if (this.refused.size >= MAX_ENTRIES) this.refused.delete(this.refused.keys().next().value!);
        this.refused.set(id, { until: now + FAILURE_MS, error: err });
      }
      throw err;
    }
    const u = res.user!;
    // Never trust the key longer than the token the store gave us for it.
    const until = now + Math.min(this.ttlMs, Math.max(0, res.expiresIn * 1000 - 5_000));
    const entry: Entry = {
      user: { userId: u.id, email: u.email, username: u.username, via: "api-key", apiKeyId: res.apiKeyId },
      token: res.accessToken,
      until,
    };
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    this.entries.delete(id);
    if (this.ttlMs > 0) this.entries.set(id, entry);
    return entry;
  }

  /** After a key is deleted through this gateway, forget every cached key of that user. */
  forgetUser(userId: string): void {
    for (const [id, e] of this.entries) if (e.user.userId === userId) this.entries.delete(id);
  }
}

import { createHash } from "node:crypto";
import type { Clients } from "../clients.js";
import type { RequestUser } from "../types.js";

interface Entry {
  user: RequestUser;
  /** The short-lived access token the store issued for this key, forwarded on further calls. */
  token: string;
  until: number;
}

const MAX_ENTRIES = 10_000;

/**
 * X-API-Key → user, verified by the store (VerifyApiKey, with the gateway's service token) and
 * remembered briefly so a key does not cost a second RPC per request. Keys are held by their
 * hash only. Failures are not cached: a key created a moment ago works at once.
 */
export class ApiKeyCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly clients: Clients,
    private readonly serviceToken: () => Promise<string>,
    private readonly ttlMs: number,
  ) {}

  async verify(key: string, requestId: string): Promise<{ user: RequestUser; token: string }> {
    const id = createHash("sha256").update(key).digest("base64url");
    const now = Date.now();
    const hit = this.entries.get(id);
    if (hit && hit.until > now) return hit;
    const res = await this.clients.users.verifyApiKey({ key }, { token: await this.serviceToken(), requestId });
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

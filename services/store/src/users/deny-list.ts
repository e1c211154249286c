import { Redis } from "ioredis";
import type { Logger } from "@sker/kit";

/**
 * Access-token ids revoked by a logout, kept until the token would have expired anyway. In Redis
 * (every store replica sees them) and in this process's memory (the all-in-one has no Redis, and
 * a Redis outage must not bring a logged-out token back on the replica that logged it out).
 */
export class DenyList {
  private readonly local = new Map<string, number>();
  private readonly redis: Redis | undefined;

  constructor(redisUrl: string | undefined, keyPrefix: string, private readonly log: Logger) {
    this.redis = redisUrl
      ? new Redis(redisUrl, { keyPrefix: `${keyPrefix}deny:`, connectTimeout: 500, commandTimeout: 500, enableOfflineQueue: false, maxRetriesPerRequest: 0 })
      : undefined;
    this.redis?.on("error", () => undefined);
  }

  async add(tokenId: string, expiresAt: number): Promise<void> {
    const ttlMs = expiresAt - Date.now();
    if (!tokenId || ttlMs <= 0) return;
    this.sweep();
    this.local.set(tokenId, expiresAt);
    await this.redis?.set(tokenId, "1", "PX", ttlMs).catch((err: Error) => this.log.warn({ err: err.message }, "deny-list write to Redis failed; held in this process only"));
  }

  async has(tokenId: string): Promise<boolean> {
    if (!tokenId) return false;
    const until = this.local.get(tokenId);
    if (until !== undefined && until > Date.now()) return true;
    if (!this.redis) return false;
    return (await this.redis.exists(tokenId).catch(() => 0)) === 1;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [id, until] of this.local) if (until <= now) this.local.delete(id);
  }

  async close(): Promise<void> {
    this.redis?.disconnect();
  }
}

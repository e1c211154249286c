import type { Redis } from "ioredis";
import type { Logger } from "@sker/kit";

// WS_MAX_SOCKETS_PER_USER over every gateway replica. Each open socket is a member of a sorted
// set per user in Redis, scored by when its lease ends; the replica holding it renews the lease
// every third of WS_SOCKET_LEASE_MS, so the sockets of a replica that crashed (and never said
// goodbye) stop counting one lease later. Redis's own clock scores them: replicas' clocks may differ.

/** KEYS[1] the user's set; ARGV: max, leaseMs, member. 1 if claimed, 0 if the user is at the cap. */
const CLAIM = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[3]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;

/** KEYS[1] the user's set; ARGV: leaseMs, members... (re-added if Redis lost them: an outage, a flush). */
const RENEW = `
local t = redis.call('TIME')
local expires = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], expires, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`;

type Scripted = Redis & {
  sockClaim(key: string, max: number, leaseMs: number, member: string): Promise<number>;
  sockRenew(key: string, leaseMs: number, ...members: string[]): Promise<number>;
};

export interface SocketCapOptions {
  max: number;
  leaseMs: number;
  keyPrefix: string;
  log: Logger;
}

/**
 * Open sockets per user against WS_MAX_SOCKETS_PER_USER: shared by every replica through Redis,
 * and counted in this process's memory without Redis or while it cannot be reached (the cap then
 * holds per replica, as a rate limit does during an outage).
 */
export class SocketCap {
  /** This replica's open sockets, by user: what the heartbeat renews and the fallback counts. */
  private readonly mine = new Map<string, Set<string>>();
  private readonly redis: Scripted | undefined;
  private timer: NodeJS.Timeout | undefined;
  private down = false;

  constructor(
    redis: Redis | undefined,
    private readonly opts: SocketCapOptions,
  ) {
    if (redis) {
      redis.defineCommand("sockClaim", { numberOfKeys: 1, lua: CLAIM });
      redis.defineCommand("sockRenew", { numberOfKeys: 1, lua: RENEW });
      this.redis = redis as Scripted;
      this.timer = setInterval(() => void this.renew(), Math.max(100, Math.floor(opts.leaseMs / 3)));
      this.timer.unref();
    }
  }

  private key(userId: string): string {
    return `${this.opts.keyPrefix}ws:sockets:${userId}`;
  }

  private failed(err: unknown): void {
    if (this.down) return;
    this.down = true;
    this.opts.log.warn({ err: (err as Error)?.message ?? String(err) }, "redis unavailable: the per-user socket cap counts this replica's sockets only until it is back");
  }

  /** Counts the socket against its user's cap; false if the user already has the most allowed. */
  async claim(userId: string, socketId: string): Promise<boolean> {
    const local = this.mine.get(userId) ?? new Set<string>();
    let ok: boolean;
    if (this.redis && this.redis.status === "ready") {
      try {
        ok = (await this.redis.sockClaim(this.key(userId), this.opts.max, this.opts.leaseMs, socketId)) === 1;
        if (this.down) this.opts.log.info("redis is back: the per-user socket cap counts every replica again");
        this.down = false;
      } catch (err) {
        this.failed(err);
        ok = local.size < this.opts.max;
      }
    } else {
      if (this.redis) this.failed(new Error("redis not connected"));
      ok = local.size < this.opts.max;
    }
    if (!ok) return false;
    local.add(socketId);
    this.mine.set(userId, local);
    return true;
  }

  release(userId: string, socketId: string): void {
    const local = this.mine.get(userId);
    local?.delete(socketId);
    if (local?.size === 0) this.mine.delete(userId);
    // A release that misses Redis is not lost: the lease ends without renewal.
    this.redis?.zrem(this.key(userId), socketId).catch(() => undefined);
  }

  /** Extends the lease of every socket this replica holds (one call per user, pipelined). */
  private async renew(): Promise<void> {
    if (!this.redis || this.redis.status !== "ready" || this.mine.size === 0) return;
    const batch = this.redis.pipeline() as unknown as { sockRenew(...a: unknown[]): void; exec(): Promise<[Error | null, unknown][] | null> };
    for (const [userId, sockets] of this.mine) batch.sockRenew(this.key(userId), this.opts.leaseMs, ...sockets);
    const results = await batch.exec().catch((err: unknown) => [[err as Error, null]] as [Error | null, unknown][]);
    const err = results?.find(([e]) => e)?.[0];
    if (err) this.failed(err);
  }

  /** Stops renewing and gives back this replica's sockets (they are closing with it). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    if (!this.redis || this.redis.status !== "ready") return;
    const batch = this.redis.pipeline();
    for (const [userId, sockets] of this.mine) batch.zrem(this.key(userId), ...sockets);
    this.mine.clear();
    await batch.exec().catch(() => undefined);
  }
}

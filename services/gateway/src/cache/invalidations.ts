/**
 * A logical clock and the last tick at which each scope was invalidated. An entry remembers the
 * tick at which its fill began; it is valid only while no scope it depends on was invalidated
 * since. Invalidating a scope is O(1) (no walk over entries): stale entries are refused on read
 * and leave with the LRU or the TTL.
 *
 * Scopes are forgotten `keepMs` after their invalidation so the map stays small. That is safe
 * because every entry they could still refuse was put before the invalidation (a later put is
 * refused at put time) and so has expired by TTL (keepMs ≥ every TTL), and because a fill that
 * began before a forgotten invalidation is older than keepMs ≥ the longest fill, so it is refused.
 */
export class Invalidations {
  private tick = 0;
  private everything = 0;
  /** The tick of the latest invalidation of anything. */
  private last = 0;
  /** scope → tick; Map order is invalidation order (delete before set), so pruning is from the front. */
  private readonly ticks = new Map<string, { tick: number; at: number }>();

  constructor(private readonly keepMs: number) {}

  /** The tick a fill begins at. */
  now(): number {
    return ++this.tick;
  }

  /** No invalidation of any kind at or after `since`. */
  quietSince(since: number): boolean {
    return this.last < since;
  }

  invalidate(scope: string): void {
    const at = Date.now();
    this.last = this.tick + 1;
    this.ticks.delete(scope);
    this.ticks.set(scope, { tick: ++this.tick, at });
    this.prune(at);
  }

  /** Every entry, whatever its scopes. */
  invalidateAll(): void {
    this.everything = this.last = ++this.tick;
  }

  /** No scope of these was invalidated at or after `since`. */
  untouchedSince(since: number, a: string, b: string, c?: string, d?: string): boolean {
    if (this.everything >= since) return false;
    return this.ok(a, since) && this.ok(b, since) && (c === undefined || this.ok(c, since)) && (d === undefined || this.ok(d, since));
  }

  private ok(scope: string, since: number): boolean {
    const t = this.ticks.get(scope);
    return t === undefined || t.tick < since;
  }

  private prune(now: number): void {
    for (const [scope, t] of this.ticks) {
      if (now - t.at <= this.keepMs) return;
      this.ticks.delete(scope);
    }
  }
}

/** The scopes entries depend on. */
export const scope = {
  /** One node's content. */
  node: (id: string) => `n:${id}`,
  /** A project's whole graph (node.* and connection.* events). */
  graph: (projectId: string) => `g:${projectId}`,
  /** Every graph: a node or connection write answered here, whose project the route does not name. */
  localWrites: "local-writes",
  /** Everything cached about a project: its nodes and who may read it. */
  project: (id: string) => `p:${id}`,
  /** Who may read a project (member.* events). */
  members: (projectId: string) => `m:${projectId}`,
  /** Every credential of a user (account.revoked: disabled, deleted, password changed, logout). */
  user: (id: string) => `u:${id}`,
  /** Every credential of every user (a revocation whose user this gateway does not know). */
  accounts: "accounts",
} as const;

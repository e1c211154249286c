// The gateway's read cache for GET /api/v1/nodes/:id. Its consistency rules (README, "Read cache"):
//
// 1. Read-your-writes on this gateway. A write this gateway answers (PATCH/DELETE/restore/rollback
//    of a node, an AI task or run on it, a member change, a revocation) invalidates what it touches
//    before the response is sent (write-rules.ts), whatever its status (a timed-out write may have
//    committed). Writes answered elsewhere arrive as events (node.*, member.*, project.deleted).
//    A fill whose read began before an invalidation of anything it depends on is not kept (ticks,
//    invalidations.ts), so a slow read never puts back what a write replaced.
// 2. Events are the only thing that keeps an entry current, so: while the bus is disconnected
//    nothing is read from or put into the cache, and everything is dropped (when the loss is seen,
//    and again when the subscription is re-attached: what was published meanwhile is lost). A
//    project whose seq skips ahead, or whose periodic check finds the store ahead, is dropped; the
//    store, read afresh, is the caught-up state (project-watch.ts).
// 3. Who may read is cached per credential and project, proved only by the store answering a read
//    (membership, account alive, token not revoked), and dropped by member.* and project.deleted
//    events of the project and by account.revoked on the bus (disabled, deleted, password changed,
//    logged out). account.revoked has no seq, so a lost one cannot be noticed: that is what the
//    short access TTL (READ_CACHE_ACCESS_TTL_MS) bounds. Until the accounts channel is bound,
//    access is not cached at all.
// 4. Security first: a node is answered from memory only to a credential with a live access entry
//    for the node's project; nothing of a project is kept unless the project was bound on the bus
//    (ProjectHub) before the read that filled it began.
// 5. Bounded: an LRU by entries and bytes, a TTL on every entry, a cap on bound projects.
// Concurrent misses of one credential on one node share one store read, but only while nothing
// at all was invalidated since that read began (a request after a write never joins a read from
// before it); a shared read that fails is made again on the joiner's own account.
import type { FastifyRequest } from "fastify";
import { ACCOUNTS_CHANNEL, type AccountRevoked, type Logger } from "@sker/kit";
import type { Node } from "@sker/contracts/store/v1/node";
import type { Clients } from "../clients.js";
import type { ProjectHub } from "../ws/hub.js";
import { accessEntries, accessKey, credentialOf } from "./access-entries.js";
import { Invalidations, scope } from "./invalidations.js";
import type { CacheMetrics } from "./metrics.js";
import { nodeEntries } from "./node-entries.js";
import { ProjectWatch } from "./project-watch.js";

export interface ReadCacheConfig {
  enabled: boolean;
  maxEntries: number;
  maxBytes: number;
  ttlMs: number;
  accessTtlMs: number;
  maxProjects: number;
  /** A fill that took longer than this is not kept (bounds how long invalidations are remembered). */
  maxFillMs: number;
}

export class ReadCache {
  private readonly inval: Invalidations;
  private readonly nodes;
  private readonly access;
  private readonly watches = new Map<string, ProjectWatch>();
  /** Store reads under way, by credential and node: concurrent misses share one. */
  private readonly flights = new Map<string, { t: number; read: Promise<Node | undefined> }>();
  private accountsLive = false;
  private detached = false;
  private stopAccounts: (() => Promise<void>) | undefined;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly cfg: ReadCacheConfig,
    private readonly deps: { hub: ProjectHub; clients: Clients; log: Logger; metrics: CacheMetrics },
  ) {
    this.inval = new Invalidations(Math.max(cfg.ttlMs, cfg.accessTtlMs, cfg.maxFillMs) + 1_000);
    this.nodes = nodeEntries(cfg);
    this.access = accessEntries({ maxEntries: cfg.maxEntries, ttlMs: cfg.accessTtlMs });
    deps.metrics.observe(() => ({ entries: this.nodes.size, bytes: this.nodes.calculatedSize, projects: this.watches.size }));
  }

  /** After the hub started: listen for revocations and for the bus coming back. */
  async start(): Promise<void> {
    if (!this.cfg.enabled) return;
    this.deps.hub.onAttached(() => this.dropAll("bus attached"));
    this.stopAccounts = await this.deps.hub.add(ACCOUNTS_CHANNEL, (e) => {
      const userId = (e.data as AccountRevoked | null)?.userId;
      this.invalidate(typeof userId === "string" ? scope.user(userId) : scope.accounts);
    });
    this.accountsLive = true;
    this.sweeper = setInterval(() => this.sweep(), Math.max(1_000, this.cfg.ttlMs));
    this.sweeper.unref();
  }

  /** The node as this credential may read it now: from memory when every rule allows, else from `read`. */
  async node(req: FastifyRequest, id: string, read: () => Promise<Node | undefined>): Promise<Node | undefined> {
    const credential = this.usable() ? credentialOf(req.user) : undefined;
    if (credential === undefined) {
      this.deps.metrics.bypass.inc();
      return read();
    }
    const hit = this.lookup(credential, id);
    if (hit) {
      this.deps.metrics.hit.inc();
      return hit;
    }
    this.deps.metrics.miss.inc();
    const key = accessKey(credential, id);
    const flight = this.flights.get(key);
    if (flight && this.inval.quietSince(flight.t)) return flight.read.catch(read);
    const t = this.inval.now();
    const began = Date.now();
    const mine = read().then((node) => {
      if (node) this.keep(credential, req, node, t, began);
      return node;
    });
    this.flights.set(key, { t, read: mine });
    try {
      return await mine;
    } finally {
      if (this.flights.get(key)?.read === mine) this.flights.delete(key);
    }
  }

  invalidate(s: string): void {
    this.inval.invalidate(s);
  }

  private usable(): boolean {
    if (!this.cfg.enabled || !this.accountsLive) return false;
    if (this.deps.hub.connected) {
      this.detached = false;
      return true;
    }
    if (!this.detached) this.dropAll("bus disconnected");
    this.detached = true;
    return false;
  }

  private lookup(credential: string, id: string): Node | undefined {
    const n = this.nodes.get(id);
    if (!n) return undefined;
    const p = n.node.projectId;
    const w = this.watches.get(p);
    if (!w?.live || w.liveAt >= n.t || !this.inval.untouchedSince(n.t, scope.node(id), scope.project(p))) return undefined;
    const a = this.access.get(accessKey(credential, p));
    if (!a || w.liveAt >= a.t || !this.inval.untouchedSince(a.t, scope.members(p), scope.project(p), scope.user(a.userId), scope.accounts)) return undefined;
    w.lastUsed = Date.now();
    return n.node;
  }

  /** After a read from the store that began at tick `t`: kept only if nothing it depends on moved since. */
  private keep(credential: string, req: FastifyRequest, node: Node, t: number, began: number): void {
    const p = node.projectId;
    const w = this.watches.get(p);
    if (!w) return this.watch(p, req.userToken);
    const userId = req.user!.userId;
    if (!w.live || w.liveAt >= t || !this.usable() || Date.now() - began > this.cfg.maxFillMs) return;
    w.used(req.userToken);
    if (this.inval.untouchedSince(t, scope.node(node.id), scope.project(p))) this.nodes.set(node.id, { node, t });
    if (this.inval.untouchedSince(t, scope.members(p), scope.project(p), scope.user(userId), scope.accounts)) this.access.set(accessKey(credential, p), { userId, t });
  }

  /** Binds a project so that later reads of it can be kept. */
  private watch(projectId: string, token: string): void {
    if (this.watches.size >= this.cfg.maxProjects) return;
    const w = new ProjectWatch(projectId, token, {
      hub: this.deps.hub,
      clients: this.deps.clients,
      inval: this.inval,
      log: this.deps.log,
      onEnd: (ended) => {
        if (this.watches.get(projectId) === ended) this.watches.delete(projectId);
      },
      onGap: () => this.deps.metrics.gaps.inc(),
    });
    this.watches.set(projectId, w);
    w.start().catch((err: unknown) => {
      this.deps.log.debug({ err, projectId }, "read cache: could not bind the project; not cached");
      void w.close();
    });
  }

  private dropAll(why: string): void {
    this.inval.invalidateAll();
    this.nodes.clear();
    this.access.clear();
    this.deps.metrics.dropped.inc({ reason: why });
  }

  /** Unbinds projects nobody read for a TTL (their entries have expired). */
  private sweep(): void {
    const idle = Date.now() - this.cfg.ttlMs;
    for (const w of [...this.watches.values()]) if (w.lastUsed < idle) void w.close();
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.accountsLive = false;
    await Promise.allSettled([...this.watches.values()].map((w) => w.close()));
    await this.stopAccounts?.();
  }
}

// The gateway's read cache for GET /api/v1/nodes/:id and GET /api/v1/projects/:id/graph.
// Its consistency rules (also in the README's design notes), each tested in test/read-cache.test.ts:
//
// 1. Read-your-writes on this gateway. A write this gateway answers (PATCH/DELETE/restore/rollback
//    of a node, an AI task or run on it, a member change, a revocation) invalidates what it touches
//    before the response is sent (write-rules.ts), whatever its status (a timed-out write may have
//    committed); a node or connection write here drops every cached graph (its route does not name
//    the project). Writes answered elsewhere arrive as events (node.*, connection.*, member.*,
//    project.deleted).
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
// 4. Security first: a node or graph is answered from memory only to a credential with a live
//    access entry for its project; nothing of a project is kept unless the project was bound on the
//    bus (ProjectHub) before the read that filled it began, and a project is bound only after a
//    read of it succeeded (a stranger cannot make this gateway bind projects).
// 5. Bounded: an LRU by entries and bytes, a TTL on every entry, a cap on bound projects.
// Concurrent misses of one credential on one node share one store read, but only while nothing
// at all was invalidated since that read began (a request after a write never joins a read from
// before it); a shared read that fails is made again on the joiner's own account.
import type { Readable } from "node:stream";
import type { FastifyRequest } from "fastify";
import { ACCOUNTS_CHANNEL, type AccountRevoked, type Logger } from "@sker/kit";
import type { Node } from "@sker/contracts/store/v1/node";
import type { Clients } from "../clients.js";
import type { ProjectHub } from "../ws/hub.js";
import { accessEntries, accessKey, credentialOf } from "./access-entries.js";
import { entries, entryKey } from "./entries.js";
import { Invalidations, scope } from "./invalidations.js";
import type { CacheMetrics } from "./metrics.js";
import { ProjectWatch } from "./project-watch.js";
import { collected } from "./tee.js";

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

/** A read from the store about to be kept: who read it, and the tick and time it began at. */
interface Fill {
  credential: string;
  req: FastifyRequest;
  t: number;
  began: number;
}

export class ReadCache {
  private readonly inval: Invalidations;
  private readonly entries;
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
    this.entries = entries(cfg);
    this.access = accessEntries({ maxEntries: cfg.maxEntries, ttlMs: cfg.accessTtlMs });
    deps.metrics.observe(() => ({ entries: this.entries.size, bytes: this.entries.calculatedSize, projects: this.watches.size }));
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
      this.deps.metrics.bypass("node");
      return read();
    }
    const e = this.entries.get(entryKey.node(id));
    if (e?.kind === "node" && this.fresh(e.t, e.node.projectId, scope.node(id)) && this.allowed(credential, e.node.projectId)) {
      this.deps.metrics.hit("node");
      return e.node;
    }
    this.deps.metrics.miss("node");
    const key = accessKey(credential, id);
    const flight = this.flights.get(key);
    if (flight && this.inval.quietSince(flight.t)) return flight.read.catch(read);
    const fill = this.fill(credential, req);
    const mine = read().then((node) => {
      if (node && this.keeping(fill, node.projectId, scope.node(node.id))) this.entries.set(entryKey.node(node.id), { kind: "node", node, t: fill.t });
      return node;
    });
    this.flights.set(key, { t: fill.t, read: mine });
    try {
      return await mine;
    } finally {
      if (this.flights.get(key)?.read === mine) this.flights.delete(key);
    }
  }

  /** The project's whole graph as JSON bytes: from memory when every rule allows, else streamed from `read` (and kept when small enough). */
  async graph(req: FastifyRequest, projectId: string, read: () => Promise<Readable>): Promise<Readable | Buffer> {
    const credential = this.usable() ? credentialOf(req.user) : undefined;
    if (credential === undefined) {
      this.deps.metrics.bypass("graph");
      return read();
    }
    const e = this.entries.get(entryKey.graph(projectId));
    if (e?.kind === "graph" && this.fresh(e.t, projectId, scope.graph(projectId), scope.localWrites) && this.allowed(credential, projectId)) {
      this.deps.metrics.hit("graph");
      return e.body;
    }
    this.deps.metrics.miss("graph");
    const fill = this.fill(credential, req);
    // Resolves once the first page came back: the caller may read the project.
    const body = await read();
    if (!this.keeping(fill, projectId, scope.graph(projectId), scope.localWrites, false)) return body;
    const limit = Math.floor(this.cfg.maxBytes / 8);
    return collected(body, limit, (bytes) => {
      if (this.keeping(fill, projectId, scope.graph(projectId), scope.localWrites)) this.entries.set(entryKey.graph(projectId), { kind: "graph", projectId, body: bytes, t: fill.t });
    });
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

  /** An entry filled at `t` that nothing it depends on has touched since, in a project bound before. */
  private fresh(t: number, projectId: string, a: string, b?: string): boolean {
    const w = this.watches.get(projectId);
    return !!w?.live && w.liveAt < t && this.inval.untouchedSince(t, a, scope.project(projectId), b);
  }

  /** This credential's read of the project was proved by the store, and nothing since took it back. */
  private allowed(credential: string, projectId: string): boolean {
    const a = this.access.get(accessKey(credential, projectId));
    const w = this.watches.get(projectId);
    if (!a || !w?.live || w.liveAt >= a.t || !this.inval.untouchedSince(a.t, scope.members(projectId), scope.project(projectId), scope.user(a.userId), scope.accounts)) return false;
    w.lastUsed = Date.now();
    return true;
  }

  private fill(credential: string, req: FastifyRequest): Fill {
    return { credential, req, t: this.inval.now(), began: Date.now() };
  }

  /**
   * After the store answered a read that began at `fill.t`: whether what it read may be kept.
   * A project not bound yet is bound now (the read proved the caller may read it), for later
   * reads. `remember`: also keep "this credential may read this project".
   */
  private keeping(fill: Fill, projectId: string, a: string, b?: string, remember = true): boolean {
    const w = this.watches.get(projectId);
    if (!w) {
      this.watch(projectId, fill.req.userToken);
      return false;
    }
    if (!w.live || w.liveAt >= fill.t || !this.usable() || Date.now() - fill.began > this.cfg.maxFillMs) return false;
    w.used(fill.req.userToken);
    const userId = fill.req.user!.userId;
    if (remember && this.inval.untouchedSince(fill.t, scope.members(projectId), scope.project(projectId), scope.user(userId), scope.accounts))
      this.access.set(accessKey(fill.credential, projectId), { userId, t: fill.t });
    return this.inval.untouchedSince(fill.t, a, scope.project(projectId), b);
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
    this.entries.clear();
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

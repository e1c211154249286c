import type { BusEvent, Logger } from "@sker/kit";
import type { Clients } from "../clients.js";
import type { ProjectHub } from "../ws/hub.js";
import { scopesOf } from "./event-rules.js";
import { scope, type Invalidations } from "./invalidations.js";

/**
 * The cache's own listener on one project's event stream (ProjectHub: bound on the bus before
 * anything of the project is cached). It keeps the project's seq: an event that skips ahead, or a
 * periodic check (the hub's, every WS_SEQ_CHECK_MS and on every bus re-attach) that finds the
 * store ahead, invalidates the whole project; the store, read afresh, is then the caught-up
 * state. A check that cannot be made (the store away, the credential it used gone) ends the watch,
 * which also invalidates the project: nothing of it is cached until a read binds it again.
 */
export class ProjectWatch {
  /** The tick at which the watch went live; entries whose fill began before it are refused. */
  liveAt = 0;
  lastUsed = Date.now();
  private lastSeq = 0;
  private unlisten: (() => Promise<void>) | undefined;
  private closed = false;

  constructor(
    readonly projectId: string,
    /** A credential that read this project (the last fill's), for the seq checks. */
    private token: string,
    private readonly deps: { hub: ProjectHub; clients: Clients; inval: Invalidations; log: Logger; onEnd: (w: ProjectWatch) => void; onGap: () => void },
  ) {}

  get live(): boolean {
    return this.liveAt > 0 && !this.closed;
  }

  /** Binds the project, then learns its latest seq; live only after both. */
  async start(): Promise<void> {
    this.unlisten = await this.deps.hub.add(this.projectId, { onEvent: (e) => this.onEvent(e), catchUp: (latest) => this.catchUp(latest) });
    if (this.closed) return void (await this.unlisten());
    const latest = await this.latestSeq();
    if (this.closed) return;
    this.lastSeq = Math.max(this.lastSeq, latest);
    this.liveAt = this.deps.inval.now();
  }

  used(token: string): void {
    this.lastUsed = Date.now();
    this.token = token;
  }

  private onEvent(e: BusEvent): void {
    if (e.seq !== null) {
      if (this.live && e.seq > this.lastSeq + 1) this.gap(`seq ${this.lastSeq + 1}..${e.seq - 1} never arrived`);
      this.lastSeq = Math.max(this.lastSeq, e.seq);
    }
    for (const s of scopesOf(e)) this.deps.inval.invalidate(s);
  }

  private async catchUp(given: number | undefined): Promise<number | undefined> {
    if (!this.live) return given;
    let latest = given;
    if (latest === undefined) {
      try {
        latest = await this.latestSeq();
      } catch (err) {
        this.deps.log.debug({ err, projectId: this.projectId }, "read cache: seq check failed; the project is no longer cached");
        void this.close();
        return given;
      }
    }
    if (latest > this.lastSeq) {
      this.gap(`the store is at seq ${latest}, the bus brought ${this.lastSeq}`);
      this.lastSeq = latest;
    }
    return latest;
  }

  private gap(why: string): void {
    this.deps.log.debug({ projectId: this.projectId, why }, "read cache: events missed; the project is read afresh");
    this.deps.inval.invalidate(scope.project(this.projectId));
    this.deps.onGap();
  }

  private async latestSeq(): Promise<number> {
    const res = await this.deps.clients.events.listEvents({ projectId: this.projectId, afterSeq: this.lastSeq, limit: 1 }, { token: this.token });
    return res.latestSeq;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.deps.inval.invalidate(scope.project(this.projectId));
    this.deps.onEnd(this);
    await this.unlisten?.();
  }
}

import { AppError, type BusEvent, type CallOptions } from "@sker/kit";
import type { Clients } from "../clients.js";
import * as map from "../rest/event.js";
import type { ProjectHub } from "./hub.js";
import type { Send } from "./sender.js";
import { liveFrame, type EventFrame } from "./shared-frame.js";

const PAGE = 500;

type Frame = EventFrame;

const isTransient = (err: unknown) => err instanceof AppError && (err.code === "UNAVAILABLE" || err.code === "DEADLINE_EXCEEDED");

/** project.deleted, or member.updated saying this user is no longer a member (role null). */
function endsAccess(f: Frame, userId: string): boolean {
  if (f.name === "project.deleted") return true;
  const d = f.data as { userId?: unknown; role?: unknown } | null;
  return f.name === "member.updated" && d?.role === null && d.userId === userId;
}

/**
 * One socket's subscription to one project: the replay/live seam of docs/api.md#websocket.
 * 1. bind the project on the bus first, buffering live events;
 * 2. ListEvents (this is also the membership check: non-members get NOT_FOUND);
 * 3. send `subscribed` and replay everything after `since`;
 * 4. flush the buffer, dropping seq ≤ the last sent, then go live.
 * Live, a seq that skips ahead (a lost or reordered bus message) is filled from ListEvents, so
 * the client sees each seq once, in order; and the hub calls catchUp after a bus reconnect and
 * periodically, for events lost with no later one to reveal the gap.
 * The membership check is made once, at subscribe; an event after that which takes the user's
 * access away (removed, or the project deleted) is sent and then ends the stream (onLost).
 * Such events in the replay are history: the check at subscribe found the user a member since.
 */
export class ProjectStream {
  private lastSeq = 0;
  /** The latest seq when the membership check passed. */
  private checkedSeq = Number.MAX_SAFE_INTEGER;
  private live = false;
  private fetching = false;
  private buffer: BusEvent[] = [];
  private closed = false;
  private unlisten: (() => Promise<void>) | undefined;

  constructor(
    readonly projectId: string,
    private readonly hub: ProjectHub,
    private readonly clients: Clients,
    private readonly call: () => CallOptions,
    private readonly send: Send,
    private readonly onFail: (err: unknown) => void,
    private readonly userId: string,
    private readonly onLost: () => void,
  ) {}

  async start(since: number | undefined): Promise<void> {
    this.unlisten = await this.hub.add(this.projectId, { onEvent: (e) => this.onBus(e), catchUp: (latest) => this.catchUp(latest) });
    if (this.closed) return this.close();
    const first = await this.clients.events.listEvents(
      { projectId: this.projectId, afterSeq: since ?? 0, limit: since === undefined ? 1 : PAGE },
      this.call(),
    );
    if (this.closed) return;
    const latest = first.latestSeq;
    this.checkedSeq = latest;
    this.send({ type: "subscribed", projectId: this.projectId, seq: latest });
    if (since === undefined) {
      this.lastSeq = latest;
    } else if (since < first.prunedSeq) {
      // The events after `since` are partly gone (retention): a replay would skip some. The
      // client reloads the graph instead and goes on from the latest seq.
      this.send({ type: "resync", projectId: this.projectId, seq: latest, prunedSeq: first.prunedSeq, reason: "events before this seq are no longer kept" });
      this.lastSeq = latest;
    } else {
      this.lastSeq = Math.min(since, latest);
      this.emit(first.events.map(map.event));
      await this.fill(latest);
    }
    this.live = true;
    this.drain();
  }

  private onBus(e: BusEvent): void {
    if (this.closed) return;
    if (e.seq === null) {
      // Ephemeral (task.progress): nothing to order, nothing to replay. Presence has its own frames.
      if (e.name.startsWith("presence")) return;
      if (this.live) this.send(liveFrame(e));
      return;
    }
    this.buffer.push(e);
    if (this.live && !this.fetching) this.drain();
  }

  /** Sends buffered events in seq order; a gap triggers a fetch from the store. */
  private drain(): void {
    this.buffer.sort((a, b) => a.seq! - b.seq!);
    while (this.buffer.length > 0 && !this.closed) {
      const e = this.buffer[0];
      if (e.seq! <= this.lastSeq) {
        this.buffer.shift();
        continue;
      }
      if (e.seq! > this.lastSeq + 1) {
        void this.fillGap(e.seq! - 1);
        return;
      }
      this.buffer.shift();
      this.emit([liveFrame(e) as EventFrame]);
    }
  }

  /** See SeqListener.catchUp: only a live stream that is behind (or does not know) asks the store. */
  async catchUp(latest: number | undefined): Promise<number | undefined> {
    if (!this.live || this.closed || this.fetching) return latest;
    if (latest !== undefined && this.lastSeq >= latest) return latest;
    this.fetching = true;
    try {
      if (latest === undefined) {
        const res = await this.clients.events.listEvents({ projectId: this.projectId, afterSeq: this.lastSeq, limit: PAGE }, this.call());
        this.emit(res.events.map(map.event));
        latest = res.latestSeq;
      }
      await this.fill(latest);
    } catch (err) {
      // Access gone is the end of this stream; the store away or slow waits for next time.
      if (!this.closed && !isTransient(err)) this.onFail(err);
      else throw err;
    } finally {
      this.fetching = false;
    }
    this.drain();
    return latest;
  }

  private async fillGap(upTo: number): Promise<void> {
    this.fetching = true;
    try {
      await this.fill(upTo);
    } catch (err) {
      // The store away or slow: the stream stays, the next event or the hub's periodic catch-up
      // fills the gap. Anything else (access gone) ends it.
      if (!this.closed && !isTransient(err)) this.onFail(err);
      return;
    } finally {
      this.fetching = false;
    }
    this.drain();
  }

  /** Pages through ListEvents until lastSeq reaches `upTo`. */
  private async fill(upTo: number): Promise<void> {
    while (!this.closed && this.lastSeq < upTo) {
      await this.send.drained();
      if (this.closed) return;
      const res = await this.clients.events.listEvents({ projectId: this.projectId, afterSeq: this.lastSeq, limit: PAGE }, this.call());
      if (this.lastSeq < res.prunedSeq) {
        // Pruned while this stream lagged behind: the same answer as at subscribe.
        this.send({ type: "resync", projectId: this.projectId, seq: res.latestSeq, prunedSeq: res.prunedSeq, reason: "events before this seq are no longer kept" });
        this.lastSeq = Math.max(this.lastSeq, res.latestSeq);
        return;
      }
      const before = this.lastSeq;
      this.emit(res.events.map(map.event));
      if (this.lastSeq === before) return;
    }
  }

  private emit(frames: Frame[]): void {
    for (const f of frames) {
      if (this.closed || f.seq <= this.lastSeq) continue;
      if (!this.send(f)) return;
      this.lastSeq = f.seq;
      if (f.seq > this.checkedSeq && endsAccess(f, this.userId)) {
        void this.close();
        this.onLost();
        return;
      }
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.buffer = [];
    await this.unlisten?.();
  }
}

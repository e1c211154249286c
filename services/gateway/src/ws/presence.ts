import { randomUUID } from "node:crypto";
import type { BusEvent, EventBus, Logger } from "@sker/kit";
import type { ProjectHub } from "./hub.js";
import { colorOf, type PresenceState } from "./presence-input.js";
import type { Send } from "./sender.js";

/** A socket subscribed to a project, as presence sees it. */
export interface Member {
  userId: string;
  username: string;
  send: Send;
}

interface Entry {
  userId: string;
  username: string;
  color: string;
  state: PresenceState;
  /** Set for an AI task's presence. */
  taskId?: string;
  /** Gateways holding a socket of this user (a user is gone when the last one says so). */
  origins: Set<string>;
  at: number;
}

/** This gateway's own users in a room: their latest state and the coalescing timer. */
interface Own {
  username: string;
  state: PresenceState | undefined;
  lastSent: number;
  timer: NodeJS.Timeout | undefined;
}

interface Room {
  members: Set<Member>;
  entries: Map<string, Entry>;
  own: Map<string, Own>;
  ready: Promise<() => Promise<void>>;
  sweep: NodeJS.Timeout | undefined;
}

const FINISHED = new Set(["task.completed", "task.failed", "task.cancelled", "task.queued"]);
const EMPTY: PresenceState = { cursor: null, selection: [], viewport: null, typing: null };

/**
 * Who is on a canvas and where (issue 12). State lives in the gateways only, never in
 * PostgreSQL: each gateway keeps the rooms its sockets are in, fed by the project's bus routing
 * key that it binds anyway for events. A user's updates are coalesced here to at most one
 * publish per `minIntervalMs` (the latest state wins), published transient (not persisted, no
 * confirm). An entry not refreshed for `ttlMs` is gone. A gateway that opens a room asks the
 * others to republish their users (presence.sync). Nothing runs while nobody moves: timers
 * exist only for pending publishes and, while a room has entries, one expiry sweep.
 * An AI task is a presence of its own, derived from the task.* events every gateway sees.
 */
export class Presence {
  readonly origin = randomUUID();
  private readonly rooms = new Map<string, Room>();

  constructor(
    private readonly bus: EventBus,
    private readonly hub: ProjectHub,
    private readonly log: Logger,
    private readonly opts: { ttlMs: number; minIntervalMs: number },
  ) {}

  async join(projectId: string, member: Member): Promise<void> {
    let room = this.rooms.get(projectId);
    const fresh = !room;
    if (!room) {
      const r: Room = { members: new Set(), entries: new Map(), own: new Map(), sweep: undefined, ready: undefined as never };
      r.ready = this.hub.add(projectId, (e) => this.onBus(r, e));
      this.rooms.set(projectId, (room = r));
      r.ready.catch(() => this.rooms.get(projectId) === r && this.rooms.delete(projectId));
    }
    room.members.add(member);
    await room.ready;
    const users = [...room.entries.values()].filter((e) => e.taskId || e.userId !== member.userId).map((e) => this.frame(projectId, e));
    member.send({ type: "presence.state", projectId, users });
    if (fresh) this.publish({ projectId, seq: null, name: "presence.sync", data: { origin: this.origin }, at: new Date().toISOString() });
  }

  async leave(projectId: string, member: Member): Promise<void> {
    const room = this.rooms.get(projectId);
    if (!room?.members.delete(member)) return;
    if (![...room.members].some((m) => m.userId === member.userId)) {
      const own = room.own.get(member.userId);
      if (own) {
        clearTimeout(own.timer);
        room.own.delete(member.userId);
        this.publish({ projectId, seq: null, name: "presence.left", data: { origin: this.origin, userId: member.userId }, at: new Date().toISOString() });
      }
    }
    if (room.members.size === 0) {
      this.rooms.delete(projectId);
      clearInterval(room.sweep);
      for (const o of room.own.values()) clearTimeout(o.timer);
      await (await room.ready)();
    }
  }

  /** false when the member is not in the room (not subscribed to that project). */
  update(projectId: string, member: Member, state: PresenceState): boolean {
    const room = this.rooms.get(projectId);
    if (!room?.members.has(member)) return false;
    let own = room.own.get(member.userId);
    if (!own) room.own.set(member.userId, (own = { username: member.username, state: undefined, lastSent: 0, timer: undefined }));
    own.state = state;
    if (own.timer) return true;
    const wait = own.lastSent + this.opts.minIntervalMs - Date.now();
    if (wait <= 0) this.flush(projectId, member.userId, own);
    else own.timer = setTimeout(() => this.flush(projectId, member.userId, own), wait);
    return true;
  }

  private flush(projectId: string, userId: string, own: Own): void {
    own.timer = undefined;
    own.lastSent = Date.now();
    const data = { origin: this.origin, userId, username: own.username, ...(own.state ?? EMPTY) };
    this.publish({ projectId, seq: null, name: "presence", data, at: new Date(own.lastSent).toISOString() });
  }

  private publish(e: BusEvent): void {
    this.bus.publish(e, { transient: true }).catch((err: Error) => this.log.debug({ err: err.message }, "presence not published"));
  }

  private frame(projectId: string, e: Entry) {
    const who = e.taskId ? { kind: "ai", taskId: e.taskId, userId: e.userId, username: e.username } : { kind: "user", userId: e.userId, username: e.username };
    return { projectId, ...who, color: e.color, ...e.state };
  }

  private tell(room: Room, frame: Record<string, unknown> & { type: string }, except?: string): void {
    for (const m of room.members) if (m.userId !== except) m.send(frame);
  }

  private onBus(room: Room, e: BusEvent): void {
    if (e.seq !== null && !e.name.startsWith("task.")) return;
    const d = (e.data ?? {}) as Record<string, any>;
    const projectId = e.projectId;
    if (e.name === "presence") {
      const entry = room.entries.get(d.userId) ?? { userId: d.userId, username: d.username, color: colorOf(d.userId), state: EMPTY, origins: new Set<string>(), at: 0 };
      entry.origins.add(d.origin);
      entry.state = { cursor: d.cursor ?? null, selection: d.selection ?? [], viewport: d.viewport ?? null, typing: d.typing ?? null };
      entry.at = Date.now();
      room.entries.set(d.userId, entry);
      this.tell(room, { type: "presence", ...this.frame(projectId, entry) }, d.userId);
    } else if (e.name === "presence.left") {
      const entry = room.entries.get(d.userId);
      if (entry?.origins.delete(d.origin) && entry.origins.size === 0) this.drop(room, projectId, d.userId);
    } else if (e.name === "presence.sync") {
      if (d.origin === this.origin) return;
      for (const [userId, own] of room.own) if (own.state && Date.now() - own.lastSent < this.opts.ttlMs) this.flush(projectId, userId, own);
    } else if (e.name === "task.started" || (e.name === "task.progress" && !room.entries.has(`task:${d.taskId}`))) {
      const taskId: string = e.name === "task.started" ? d.id : d.taskId;
      const known = room.entries.get(`task:${taskId}`);
      const entry: Entry = known ?? { userId: d.createdBy ?? "", username: "AI", color: colorOf(taskId), taskId, state: { ...EMPTY, typing: d.nodeId ?? null }, origins: new Set(), at: 0 };
      entry.at = Date.now();
      room.entries.set(`task:${taskId}`, entry);
      this.tell(room, { type: "presence", ...this.frame(projectId, entry) });
    } else if (e.name === "task.progress") {
      room.entries.get(`task:${d.taskId}`)!.at = Date.now();
    } else if (FINISHED.has(e.name) && room.entries.has(`task:${d.id}`)) {
      this.drop(room, projectId, `task:${d.id}`);
    } else return;
    this.sweepWhileNeeded(room, projectId);
  }

  private drop(room: Room, projectId: string, key: string): void {
    const entry = room.entries.get(key);
    if (!entry) return;
    room.entries.delete(key);
    this.tell(room, { type: "presence.left", projectId, userId: entry.userId, ...(entry.taskId ? { taskId: entry.taskId } : {}) });
  }

  /** One timer per room, only while someone is present in it. */
  private sweepWhileNeeded(room: Room, projectId: string): void {
    if (room.entries.size === 0) {
      clearInterval(room.sweep);
      room.sweep = undefined;
      return;
    }
    if (room.sweep) return;
    room.sweep = setInterval(() => {
      const now = Date.now();
      for (const [key, entry] of room.entries) if (now - entry.at > this.opts.ttlMs) this.drop(room, projectId, key);
      for (const [userId, own] of room.own) if (!own.timer && now - own.lastSent > this.opts.ttlMs) room.own.delete(userId);
      if (room.entries.size === 0) this.sweepWhileNeeded(room, projectId);
    }, Math.max(100, this.opts.ttlMs / 6));
    room.sweep.unref();
  }
}

import { randomUUID } from "node:crypto";
import type { WebSocket } from "ws";
import { decodeJwt } from "jose";
import type { ValidateFunction } from "ajv";
import { AppError, findBadText, forward, isUuid, type CallOptions } from "@sker/kit";
import { userFromAccessToken } from "../plugins/auth.js";
import { publicError, validationError } from "../plugins/errors.js";
import type { LimitKind } from "../plugins/rate-limit.js";
import type { TaskBody } from "../rest/schemas/tasks.js";
import type { GatewayDeps, RequestUser } from "../types.js";
import { runAiGenerate } from "./ai-generate.js";
import type { ProjectHub } from "./hub.js";
import { ProjectStream } from "./project-stream.js";
import type { Member, Presence } from "./presence.js";
import { parsePresence, PresenceInputError } from "./presence-input.js";
import { SocketGuard } from "./guard.js";
import type { SocketCap } from "./socket-cap.js";
import { CLOSE, sender, type Send } from "./sender.js";

export interface SessionEnv {
  deps: GatewayDeps;
  hub: ProjectHub;
  presence: Presence;
  validateTask: ValidateFunction<TaskBody>;
  limit: (kind: LimitKind, key: string) => Promise<{ retryAfter: number } | undefined>;
  sockets: SocketCap;
  onSlow: () => void;
  onSent: (kind: string) => void;
}

type Msg = Record<string, unknown> & { type?: unknown };

function typeOf(raw: string): unknown {
  try {
    return (JSON.parse(raw) as Msg | null)?.type;
  } catch {
    return undefined;
  }
}

/** One WebSocket connection: authentication, subscriptions, AI requests, liveness (docs/api.md#websocket). */
export class Session {
  user: RequestUser | undefined;
  private token = "";
  private readonly streams = new Map<string, ProjectStream>();
  /** This socket in each project's presence room (joined once its subscription is live). */
  private readonly rooms = new Map<string, Member>();
  private readonly cleanups = new Set<() => Promise<void>>();
  private readonly send: Send;
  private authTimer: NodeJS.Timeout | undefined;
  /** Fires when the access token expires: the socket must not outlive the proof of who it is. */
  private expiryTimer: NodeJS.Timeout | undefined;
  /**
   * Messages are handled one after another, in the order they came: a subscribe finishes (or
   * fails) before the next message of the socket is looked at, so an unsubscribe cannot overtake
   * it and two subscribes cannot both create a stream. A query-string token is the first link.
   */
  private inbox: Promise<void> = Promise.resolve();
  alive = true;
  private closed = false;
  /** This socket in its user's socket count (every replica's). */
  private readonly socketId = randomUUID();

  constructor(
    readonly socket: WebSocket,
    private readonly env: SessionEnv,
    private readonly requestId: string,
    queryToken: string | undefined,
    private readonly ip: string,
  ) {
    this.send = sender(socket, env.deps.config.ws.maxBufferedBytes, env.onSlow, env.onSent);
    const guard = new SocketGuard(env.deps.config.ws.messagesPerSecond, env.deps.config.ws.maxInbox);
    socket.on("message", (data, isBinary) => {
      const raw = isBinary ? "" : data.toString();
      const verdict = guard.admit(typeOf(raw) === "presence");
      if (verdict === "flood") return this.close(CLOSE.policy, "too many messages waiting");
      if (verdict === "limited") return void this.send({ type: "error", code: "RATE_LIMITED", message: "too many messages; slow down" });
      this.enqueue(() => this.onMessage(raw).finally(() => guard.done()));
    });
    socket.on("pong", () => (this.alive = true));
    socket.on("close", () => void this.dispose());
    socket.on("error", () => socket.terminate());
    if (queryToken !== undefined) this.enqueue(() => this.authenticate(queryToken));
    else this.authTimer = setTimeout(() => this.reject("no authenticate message in time"), env.deps.config.ws.authTimeoutMs);
  }

  private enqueue(work: () => Promise<void>): void {
    this.inbox = this.inbox.then(work).catch((err) => this.env.deps.log.warn({ err, requestId: this.requestId }, "websocket message failed"));
  }

  /** Aborted when the socket goes: its replays and requests still in flight stop in the store too. */
  private readonly gone = new AbortController();
  private call = (): CallOptions => forward({ token: this.token, requestId: this.requestId, signal: this.gone.signal });

  private reject(message: string): void {
    this.send({ type: "error", code: "UNAUTHENTICATED", message });
    this.socket.close(CLOSE.unauthenticated, "unauthenticated");
  }

  private async authenticate(token: unknown): Promise<void> {
    clearTimeout(this.authTimer);
    try {
      if (typeof token !== "string" || token === "") throw new AppError("UNAUTHENTICATED", "missing token");
      const user = await userFromAccessToken(this.env.deps.tokens, token);
      // A fresh token for the same user may replace an expiring one; another user's may not.
      if (this.user && this.user.userId !== user.userId) throw new AppError("UNAUTHENTICATED", "a socket stays with one user");
      // The store refuses a well-signed token of a disabled or deleted account, an old password or
      // a logout. While the store is unreachable the signature stands: every call the socket makes
      // goes to the store anyway, and a revocation still closes it.
      await this.env.deps.clients.users.getMe({}, { token, requestId: this.requestId }).catch((err: unknown) => {
        if (err instanceof AppError && err.code === "UNAUTHENTICATED") throw err;
        this.env.deps.log.warn({ err, requestId: this.requestId }, "could not ask the store about a socket's token; trusting its signature");
      });
      if (this.closed) return;
      if (!this.user && !(await this.env.sockets.claim(user.userId, this.socketId))) {
        this.send({ type: "error", code: "RATE_LIMITED", message: "too many open sockets for this user" });
        return this.close(CLOSE.policy, "too many sockets");
      }
      // Closed while the claim was on its way: dispose() saw no user, so give the slot back here.
      if (this.closed && !this.user) return this.env.sockets.release(user.userId, this.socketId);
      this.user = user;
      this.token = token;
      this.expireAt(decodeJwt(token).exp! * 1000);
      this.send({ type: "authenticated", userId: user.userId });
    } catch (err) {
      // A failed authentication spends the address's bad-credentials budget, as over HTTP.
      const over = this.user ? undefined : await this.env.limit("badAuth", this.ip).catch(() => undefined);
      if (!over) return this.reject(err instanceof AppError ? err.message : "invalid token");
      this.send({ type: "error", code: "RATE_LIMITED", message: `too many failed authentications, retry in ${over.retryAfter}s`, details: { retryAfter: over.retryAfter } });
      this.close(CLOSE.policy, "too many failed authentications");
    }
  }

  private expireAt(expMs: number): void {
    clearTimeout(this.expiryTimer);
    const left = expMs - Date.now();
    if (left <= 0) return this.reject("token expired");
    // setTimeout holds at most ~24.8 days; a longer token is looked at again then.
    this.expiryTimer = setTimeout(() => this.expireAt(expMs), Math.min(left, 2 ** 31 - 1));
    this.expiryTimer.unref();
  }

  private async onMessage(raw: string): Promise<void> {
    if (this.socket.readyState !== this.socket.OPEN) return;
    let msg: Msg;
    try {
      msg = JSON.parse(raw) as Msg;
      if (typeof msg !== "object" || msg === null || Array.isArray(msg)) throw new Error("not an object");
    } catch {
      if (!this.user) return this.reject("the first message must be authenticate");
      return void this.send({ type: "error", code: "INVALID_JSON", message: "messages are JSON objects" });
    }
    if (msg.type === "authenticate") return this.authenticate(msg.token);
    if (!this.user) return this.reject("the first message must be authenticate");
    switch (msg.type) {
      case "ping":
        return void this.send({ type: "pong" });
      case "subscribe":
        return this.subscribe(msg);
      case "unsubscribe":
        return this.unsubscribe(msg);
      case "presence":
        return this.presence(msg);
      case "AI_GENERATE_REQUEST":
        return this.aiGenerate(msg);
      default:
        this.send({ type: "error", code: "VALIDATION_ERROR", message: `unknown message type ${JSON.stringify(msg.type)}`, details: { field: "type" } });
    }
  }

  private async subscribe(msg: Msg): Promise<void> {
    const { projectId, since } = msg;
    if (!isUuid(projectId))
      return void this.send({ type: "error", code: "VALIDATION_ERROR", message: "projectId must be a UUID", details: { field: "projectId" } });
    if (since !== undefined && since !== null && !(Number.isSafeInteger(since) && (since as number) >= 0))
      return void this.send({ type: "error", code: "VALIDATION_ERROR", projectId, message: "since must be a non-negative integer", details: { field: "since" } });
    // Each subscribe costs store calls: a budget per user, shared by all their sockets.
    const over = await this.env.limit("subscribe", this.user!.userId);
    if (over) return void this.send({ type: "error", code: "RATE_LIMITED", projectId, message: `too many subscribes, retry in ${over.retryAfter}s`, details: { retryAfter: over.retryAfter } });
    // Subscribing again replaces the stream (a client resuming with a new `since`).
    const previous = this.streams.get(projectId);
    this.streams.delete(projectId);
    await Promise.all([previous?.close(), this.leaveRoom(projectId)]);
    if (this.closed) return;
    const stream: ProjectStream = new ProjectStream(
      projectId,
      this.env.hub,
      this.env.deps.clients,
      this.call,
      this.send,
      (err) => void this.streamFailed(stream, err),
      this.user!.userId,
      () => this.streamLost(stream),
    );
    this.streams.set(projectId, stream);
    try {
      await stream.start(typeof since === "number" ? since : undefined);
      if (!stream.isClosed && this.streams.get(projectId) === stream) await this.joinRoom(projectId);
    } catch (err) {
      await this.streamFailed(stream, err);
    }
  }

  /** The user lost access to the project (removed, or it was deleted): as if never a member. */
  private streamLost(stream: ProjectStream): void {
    if (this.streams.get(stream.projectId) === stream) this.streams.delete(stream.projectId);
    void this.leaveRoom(stream.projectId);
    this.send({ type: "error", code: "NOT_FOUND", projectId: stream.projectId, message: "project not found" });
  }

  private async streamFailed(stream: ProjectStream, err: unknown): Promise<void> {
    // A stream already replaced, unsubscribed or ended has nothing left to report.
    if (stream.isClosed) return;
    if (this.streams.get(stream.projectId) === stream) this.streams.delete(stream.projectId);
    await Promise.all([stream.close(), this.leaveRoom(stream.projectId)]);
    const { code, message } = publicError(err, this.env.deps.log, this.requestId);
    this.send({ type: "error", code, projectId: stream.projectId, message });
  }

  private async unsubscribe(msg: Msg): Promise<void> {
    const projectId = String(msg.projectId ?? "");
    const stream = this.streams.get(projectId);
    this.streams.delete(projectId);
    await Promise.all([stream?.close(), this.leaveRoom(projectId)]);
    this.send({ type: "unsubscribed", projectId });
  }

  private async joinRoom(projectId: string): Promise<void> {
    const member: Member = { userId: this.user!.userId, username: this.user!.username, send: this.send };
    this.rooms.set(projectId, member);
    await this.env.presence.join(projectId, member);
  }

  private async leaveRoom(projectId: string): Promise<void> {
    const member = this.rooms.get(projectId);
    this.rooms.delete(projectId);
    if (member) await this.env.presence.leave(projectId, member);
  }

  /** The sender's whole presence state in one project it is subscribed to. */
  private presence(msg: Msg): void {
    const projectId = String(msg.projectId ?? "");
    const member = this.rooms.get(projectId);
    const fail = (field: string, message: string) => void this.send({ type: "error", code: "VALIDATION_ERROR", projectId, message, details: { field } });
    if (!member) return fail("projectId", "subscribe to the project before sending presence");
    try {
      this.env.presence.update(projectId, member, parsePresence(msg));
    } catch (err) {
      if (!(err instanceof PresenceInputError)) throw err;
      fail(err.field, err.message);
    }
  }

  private async aiGenerate(msg: Msg): Promise<void> {
    // The message's own `type` is taken; the task type travels as `taskType` (default generate).
    const { type: _type, requestId, idempotencyKey, taskType, ...rest } = msg;
    const body = { ...rest, type: taskType ?? "generate" };
    if (typeof requestId !== "string" || requestId === "" || requestId.length > 128)
      return void this.send({ type: "AI_GENERATE_ERROR", requestId: null, error: { code: "VALIDATION_ERROR", message: "requestId: a string of 1 to 128 characters is required", details: { field: "requestId" } } });
    const bad = findBadText(body);
    if (bad) return void this.send({ type: "AI_GENERATE_ERROR", requestId, error: { code: "VALIDATION_ERROR", message: `${bad.field}: ${bad.message}`, details: { field: bad.field } } });
    if (!this.env.validateTask(body)) {
      const { code, message, details } = validationError(this.env.validateTask.errors ?? [], "body");
      return void this.send({ type: "AI_GENERATE_ERROR", requestId, error: { code, message, details } });
    }
    await runAiGenerate({
      requestId,
      body,
      idempotencyKey: typeof idempotencyKey === "string" && idempotencyKey !== "" ? idempotencyKey.slice(0, 200) : undefined,
      hub: this.env.hub,
      clients: this.env.deps.clients,
      call: this.call(),
      send: this.send,
      log: this.env.deps.log,
      track: (stop) => {
        this.cleanups.add(stop);
        return () => this.cleanups.delete(stop);
      },
    });
  }

  /** Called by the ping timer: a peer that did not answer the last ping is dropped. */
  heartbeat(): void {
    if (!this.alive) return void this.socket.terminate();
    this.alive = false;
    this.socket.ping();
  }

  /** The account's tokens (or this socket's token) were revoked: closed with 4401 at once. */
  revoked(event: { userId: string; tokenId?: string }): void {
    if (!this.user || this.user.userId !== event.userId) return;
    if (event.tokenId && event.tokenId !== this.user.tokenId) return;
    this.reject("this session was revoked");
  }

  close(code: number, reason: string): void {
    this.socket.close(code, reason);
  }

  private async dispose(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.gone.abort();
    clearTimeout(this.authTimer);
    clearTimeout(this.expiryTimer);
    if (this.user) this.env.sockets.release(this.user.userId, this.socketId);
    const streams = [...this.streams.values()];
    this.streams.clear();
    const rooms = [...this.rooms.keys()];
    await Promise.all([...streams.map((s) => s.close()), ...rooms.map((p) => this.leaveRoom(p)), ...[...this.cleanups].map((c) => c())]);
    this.cleanups.clear();
  }
}

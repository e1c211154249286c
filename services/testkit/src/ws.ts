import WebSocket from "ws";

/** A test WebSocket client that queues every frame and lets a test wait for the ones it expects. */
export class WsClient {
  readonly frames: any[] = [];
  /** Frames that came as binary: the API sends text frames only (browsers would get Blobs). */
  binaryFrames = 0;
  private waiters: { pred: (f: any) => boolean; resolve: (f: any) => void }[] = [];
  closed: { code: number; reason: string } | undefined;
  private closeWaiters: ((c: { code: number; reason: string }) => void)[] = [];

  constructor(readonly ws: WebSocket) {
    ws.on("message", (data, isBinary) => {
      if (isBinary) this.binaryFrames++;
      const f = JSON.parse(data.toString());
      this.frames.push(f);
      this.waiters = this.waiters.filter((w) => (w.pred(f) ? (w.resolve(f), false) : true));
    });
    ws.on("close", (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      for (const w of this.closeWaiters) w(this.closed);
    });
  }

  static async open(baseUrl: string, token?: string): Promise<WsClient> {
    const url = baseUrl.replace(/^http/, "ws") + "/ws" + (token ? `?token=${encodeURIComponent(token)}` : "");
    const ws = new WebSocket(url);
    const c = new WsClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    return c;
  }

  send(msg: unknown): void {
    this.ws.send(JSON.stringify(msg));
  }

  /** The first frame (already received or coming) that matches. */
  next(pred: (f: any) => boolean, timeoutMs = 10_000): Promise<any> {
    const have = this.frames.find(pred);
    if (have) return Promise.resolve(have);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out waiting for a frame; got ${JSON.stringify(this.frames.slice(-5))}`)), timeoutMs);
      this.waiters.push({ pred, resolve: (f) => (clearTimeout(t), resolve(f)) });
    });
  }

  events(projectId: string): any[] {
    return this.frames.filter((f) => f.type === "event" && f.projectId === projectId && f.seq !== null);
  }

  async waitEvents(projectId: string, count: number, timeoutMs = 10_000): Promise<any[]> {
    const until = Date.now() + timeoutMs;
    while (this.events(projectId).length < count) {
      if (Date.now() > until) throw new Error(`expected ${count} events, got ${this.events(projectId).length}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.events(projectId);
  }

  waitClose(timeoutMs = 15_000): Promise<{ code: number; reason: string }> {
    if (this.closed) return Promise.resolve(this.closed);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("socket not closed in time")), timeoutMs);
      this.closeWaiters.push((c) => (clearTimeout(t), resolve(c)));
    });
  }

  close(): void {
    this.ws.close();
  }
}

/**
 * One socket's flow control: a token bucket of messages (`perSecond`, bursts of twice that),
 * and a bound on admitted messages still waiting to be handled (they are handled one after
 * another), so a client cannot queue unbounded work or memory in the gateway.
 */
export class SocketGuard {
  private tokens: number;
  private last = Date.now();
  private pending = 0;

  constructor(
    private readonly perSecond: number,
    private readonly maxInbox: number,
  ) {
    this.tokens = 2 * perSecond;
  }

  /**
   * ok: handle it (then call done); limited: answer RATE_LIMITED and drop it; flood: close the
   * socket. `free` messages (presence: coalesced, no store call) skip the bucket, not the bound.
   */
  admit(free = false): "ok" | "limited" | "flood" {
    if (this.pending >= this.maxInbox) return "flood";
    if (free) {
      this.pending++;
      return "ok";
    }
    const now = Date.now();
    this.tokens = Math.min(2 * this.perSecond, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    if (this.tokens < 1) return "limited";
    this.tokens -= 1;
    this.pending++;
    return "ok";
  }

  done(): void {
    this.pending--;
  }
}

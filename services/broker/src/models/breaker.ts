export type BreakerState = "closed" | "open" | "half_open";

/**
 * One provider's circuit: after `failures` transient failures in a row it opens and calls are
 * skipped (the task moves to its next model at once) for `cooldownMs`; then one trial call is
 * let through (half-open): success closes it, failure opens it again.
 */
export class Breaker {
  private streak = 0;
  private openedAt = 0;
  private trial = false;
  state: BreakerState = "closed";

  constructor(
    private readonly failures: number,
    private readonly cooldownMs: number,
    private readonly onChange: (state: BreakerState) => void = () => undefined,
    private readonly now: () => number = Date.now,
  ) {}

  /** May a call go out now? In half-open, only one at a time. */
  allow(): boolean {
    if (this.state === "open" && this.now() - this.openedAt >= this.cooldownMs) this.set("half_open");
    if (this.state === "closed") return true;
    if (this.state === "half_open" && !this.trial) {
      this.trial = true;
      return true;
    }
    return false;
  }

  success(): void {
    this.streak = 0;
    this.trial = false;
    if (this.state !== "closed") this.set("closed");
  }

  failure(): void {
    this.trial = false;
    this.streak++;
    if (this.state === "half_open" || (this.state === "closed" && this.streak >= this.failures)) {
      this.openedAt = this.now();
      this.set("open");
    }
  }

  /** A call that ended for our own reasons (cancel, shutdown, a bad request) says nothing of the provider. */
  neutral(): void {
    this.trial = false;
  }

  private set(state: BreakerState): void {
    this.state = state;
    this.onChange(state);
  }
}

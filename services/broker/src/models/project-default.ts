/**
 * Projects' default models (settings.ai.model), remembered for a few seconds: a burst of
 * submissions to one project asks the store once, not once per task. A settings change takes
 * effect within `ttlMs`. Membership is not decided here: CreateTask checks it on every call.
 */
export class ProjectDefaults {
  private readonly seen = new Map<string, { model: string | undefined; until: number }>();

  constructor(
    private readonly ttlMs = 10_000,
    private readonly max = 10_000,
  ) {}

  /** `read` asks the store as the caller, only when the project is not remembered. */
  async get(projectId: string, read: () => Promise<string | undefined>): Promise<string | undefined> {
    const now = Date.now();
    const hit = this.seen.get(projectId);
    if (hit && hit.until > now) return hit.model;
    const model = await read();
    if (this.seen.size >= this.max) this.seen.clear();
    this.seen.set(projectId, { model, until: now + this.ttlMs });
    return model;
  }
}

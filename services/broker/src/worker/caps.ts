import type { Task } from "@sker/contracts/store/v1/task";

/** Tasks whose owner this broker learnt from a deferral; past this many the oldest are forgotten. */
const MAX_OWNERS = 100_000;

/**
 * What this broker learnt from the store's deferrals: which users and projects are at their
 * running cap. While a mark holds, their deliveries go to the back of the line without a
 * StartTask call, so one tenant's burst costs a publish per message rather than a store
 * transaction (300–700 ms each, some seconds, on a loaded machine), and the line reaches
 * other tenants' tasks sooner. After a mark runs out (`ms`), one delivery at a time probes
 * the store; the others keep going round until the probe answers, so a burst never holds
 * many workers waiting on StartTask. A mark is dropped 2 × `ms` after it ran out. A message names its project, not its owner, so a user's
 * cap also marks the project it was met in.
 */
export class CapMarks {
  private readonly marks = new Map<string, number>();
  private readonly probes = new Set<string>();
  private readonly owners = new Map<string, string>();

  constructor(private readonly ms: number) {}

  private keys(taskId: string, projectId: string): string[] {
    const user = this.owners.get(taskId);
    return user === undefined ? [`project:${projectId}`] : [`project:${projectId}`, `user:${user}`];
  }

  /** True: defer this delivery without asking the store. False: ask (and release() after). */
  blocked(taskId: string, projectId: string): boolean {
    const now = Date.now();
    const keys = this.keys(taskId, projectId).filter((k) => {
      const until = this.marks.get(k);
      // Long past its mark with nothing deferred since: the burst is over, starts flow freely.
      if (until !== undefined && now - until > 2 * this.ms) this.marks.delete(k);
      return this.marks.has(k);
    });
    if (keys.some((k) => this.marks.get(k)! > now || this.probes.has(k))) return true;
    for (const k of keys) this.probes.add(k);
    return false;
  }

  /** The store deferred the task: mark its project (and its owner for a user cap). */
  note(task: Task, cap: string): void {
    if (this.owners.size >= MAX_OWNERS) this.owners.delete(this.owners.keys().next().value!);
    this.owners.set(task.id, task.createdBy);
    const until = Date.now() + this.ms;
    this.marks.set(`project:${task.projectId}`, until);
    if (cap === "user") this.marks.set(`user:${task.createdBy}`, until);
  }

  /**
   * The store answered (or failed): end the probe. A start took a slot that had just come
   * free, so the user or project is likely at its cap again: the next delivery probes again
   * (one at a time) rather than all of them at once.
   */
  release(taskId: string, projectId: string, started: boolean): void {
    const now = Date.now();
    for (const k of this.keys(taskId, projectId)) {
      this.probes.delete(k);
      if (started && this.marks.has(k)) this.marks.set(k, now);
    }
    if (started) this.owners.delete(taskId);
  }
}

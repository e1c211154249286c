import { sql, type Kysely } from "kysely";
import type { Logger } from "@sker/kit";
import type { Database } from "../db/schema.js";
import type { MailTransport } from "./transport.js";

const BATCH = 20;
const MAX_ATTEMPTS = 12;
/** A claimed mail is not claimed again for this long (a replica that died mid-send). */
const CLAIM_SECONDS = 60;

type Claimed = { id: string; to_address: string; subject: string; body: string; attempts: number };

/**
 * Sends the mail outbox. Rows are claimed with a short lease in one statement (SKIP LOCKED, so
 * store replicas share the work) and sent outside any transaction (an SMTP round trip must not
 * hold a database session: PGlite has only one). A sent row's body is emptied, since its links
 * are credentials; a failure is retried with exponential backoff up to MAX_ATTEMPTS.
 */
export class MailRelay {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(private readonly db: Kysely<Database>, private readonly transport: MailTransport, private readonly log: Logger, private readonly pollMs: number) {}

  start(): void {
    this.schedule(0);
  }

  poke(): void {
    if (this.running) this.again = true;
    else this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    this.transport.close();
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.running || this.stopped) return;
    this.again = false;
    let more = false;
    this.running = this.pass().then(
      (n) => void (more = n === BATCH),
      (err) => this.log.warn({ err }, "mail relay pass failed"),
    );
    await this.running;
    this.running = undefined;
    this.schedule(more || this.again ? 0 : this.pollMs);
  }

  private async pass(): Promise<number> {
    const { rows } = await sql<Claimed>`
      UPDATE mail_outbox SET attempts = attempts + 1, next_attempt_at = now() + make_interval(secs => ${CLAIM_SECONDS})
      WHERE id IN (
        SELECT id FROM mail_outbox WHERE sent_at IS NULL AND attempts < ${MAX_ATTEMPTS} AND next_attempt_at <= now()
        ORDER BY next_attempt_at LIMIT ${BATCH} FOR UPDATE SKIP LOCKED)
      RETURNING id, to_address, subject, body, attempts`.execute(this.db);
    for (const m of rows) {
      try {
        await this.transport.send({ to: m.to_address, subject: m.subject, text: m.body });
        await this.db.updateTable("mail_outbox").set({ sent_at: new Date(), body: "", last_error: null }).where("id", "=", m.id).execute();
      } catch (err) {
        const retryIn = Math.min(2 ** m.attempts, 3_600);
        this.log.warn({ err: (err as Error).message, to: m.to_address, attempts: m.attempts }, "mail not sent; will retry");
        await this.db
          .updateTable("mail_outbox")
          .set({ last_error: String((err as Error).message).slice(0, 500), next_attempt_at: new Date(Date.now() + retryIn * 1000) })
          .where("id", "=", m.id)
          .execute();
      }
    }
    return rows.length;
  }
}

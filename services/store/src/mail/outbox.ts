import type { Kysely } from "kysely";
import type { Database } from "../db/schema.js";

export interface Mail {
  to: string;
  subject: string;
  text: string;
}

/** Queues a mail in the caller's transaction: it goes out only if that transaction commits. */
export async function queueMail(trx: Kysely<Database>, mail: Mail): Promise<void> {
  await trx.insertInto("mail_outbox").values({ to_address: mail.to, subject: mail.subject, body: mail.text, next_attempt_at: new Date() }).execute();
}

// A real SMTP server in the test process (the smtp-server package): the store sends through it
// with nodemailer exactly as it would to a production relay, and tests read what arrived.
import { SMTPServer } from "smtp-server";
import type { AddressInfo } from "node:net";

export interface Received {
  to: string[];
  from: string;
  subject: string;
  text: string;
}

/** quoted-printable (what nodemailer uses for long lines) → text. */
function decodeQp(s: string): string {
  return s.replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
}

function parse(raw: string, to: string[], from: string): Received {
  const split = raw.indexOf("\r\n\r\n");
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, " ");
  let body = raw.slice(split + 4);
  const header = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, "im").exec(head)?.[1] ?? "";
  if (/quoted-printable/i.test(header("Content-Transfer-Encoding"))) body = decodeQp(body);
  if (/base64/i.test(header("Content-Transfer-Encoding"))) body = Buffer.from(body, "base64").toString("utf8");
  // RFC 2047 encoded words; the space between two of them is not part of the text.
  const subject = header("Subject")
    .replace(/\?=\s+=\?/g, "?==?")
    .replace(/=\?utf-8\?([QB])\?(.*?)\?=/gi, (_m, enc: string, text: string) =>
      enc.toUpperCase() === "B" ? Buffer.from(text, "base64").toString("utf8") : Buffer.from(decodeQp(text.replace(/_/g, " ")), "latin1").toString("utf8"),
    );
  return { to, from, subject, text: body.replace(/\r\n/g, "\n") };
}

export async function startMailbox() {
  const mails: Received[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onData(stream, session, done) {
      let raw = "";
      stream.on("data", (d: Buffer) => (raw += d.toString("utf8")));
      stream.on("end", () => {
        mails.push(parse(raw, session.envelope.rcptTo.map((r) => r.address), session.envelope.mailFrom ? session.envelope.mailFrom.address : ""));
        done();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    /** Waits (up to 15 s) for a mail to `to` that matches; answers it. */
    async waitFor(to: string, match: (m: Received) => boolean = () => true): Promise<Received> {
      const until = Date.now() + 15_000;
      for (;;) {
        const m = mails.find((x) => x.to.includes(to.toLowerCase()) && match(x));
        if (m) return m;
        if (Date.now() > until) throw new Error(`no mail to ${to} within 15 s; got: ${JSON.stringify(mails.map((x) => [x.to, x.subject]))}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type Mailbox = Awaited<ReturnType<typeof startMailbox>>;

/** The token a mail carries (`?token=...`). */
export function tokenIn(mail: Received): string {
  const m = /[?&]token=([A-Za-z0-9_-]+)/.exec(mail.text);
  if (!m) throw new Error(`no token in mail: ${mail.text}`);
  return m[1];
}

import type { Transporter } from "nodemailer";
import type { Logger } from "@sker/kit";
import type { Mail } from "./outbox.js";

export interface MailTransport {
  send(mail: Mail): Promise<void>;
  close(): void;
}

export interface TransportSettings {
  /** smtp:// or smtps:// with credentials; unset → mail goes to the log (development). */
  smtpUrl: string | undefined;
  from: string;
  production: boolean;
}

/**
 * nodemailer over SMTP. Without SMTP_URL a development store writes each mail (links included)
 * to the log, so `make run` works offline; a production store logs only that a mail was
 * dropped, since its links are credentials and logs are widely readable.
 */
export function createTransport(s: TransportSettings, log: Logger): MailTransport {
  if (!s.smtpUrl) {
    return {
      async send(mail) {
        if (s.production) log.warn({ to: mail.to, subject: mail.subject }, "mail dropped: SMTP_URL is not set");
        else log.info({ mail: { from: s.from, ...mail } }, `mail (SMTP_URL unset, not sent): ${mail.subject}\n${mail.text}`);
      },
      close() {},
    };
  }
  // Loaded on the first mail: most starts send none, and every entry point starts faster without it.
  const smtpUrl = s.smtpUrl;
  let transporter: Promise<Transporter> | undefined;
  const open = () => (transporter ??= import("nodemailer").then((m) => m.default.createTransport(smtpUrl)));
  return {
    async send(mail) {
      await (await open()).sendMail({ from: s.from, to: mail.to, subject: mail.subject, text: mail.text });
    },
    close: () => void transporter?.then((t) => t.close()),
  };
}

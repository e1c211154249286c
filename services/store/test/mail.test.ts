// The store's mail outbox: written in the transaction that decides to send, sent by the relay
// over real SMTP (nodemailer → an smtp-server in this process), retried while the server is
// away, emptied once sent; without SMTP_URL a development store writes the mail to its log.
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "@sker/kit";
import { Role } from "@sker/contracts/common/v1/common";
import { tcpProxy } from "@sker/testkit/tcp-proxy";
import { startMailbox, tokenIn, type Mailbox } from "@sker/testkit/mailbox";
import { createTransport } from "../src/mail/transport.js";
import { startTestStore, type TestStore } from "@sker/testkit/store";

describe("the mail relay", () => {
  let mailbox: Mailbox;
  let proxy: Awaited<ReturnType<typeof tcpProxy>>;
  let store: TestStore;
  beforeAll(async () => {
    mailbox = await startMailbox();
    proxy = await tcpProxy({ host: "127.0.0.1", port: Number(new URL(mailbox.url).port) });
    store = await startTestStore({ driver: "pg", redis: false, env: { SMTP_URL: `smtp://127.0.0.1:${proxy.port}`, MAIL_POLL_MS: "100", PUBLIC_URL: "https://canvas.example.test/" } });
  });
  afterAll(async () => {
    await store?.shutdown();
    await proxy?.close();
    await mailbox?.close();
  });

  it("keeps a mail the SMTP server could not take and delivers it once the server is back", async () => {
    const owner = await store.register("owner");
    const projectId = (await store.clients.projects.createProject({ name: "Relay" }, { token: owner.token })).project!.id;
    proxy.cut();
    const { invitation } = await store.clients.projects.createInvitation({ projectId, email: "later@example.test", role: Role.ROLE_EDITOR }, { token: owner.token });
    const row = () => store.db.selectFrom("mail_outbox").selectAll().where("to_address", "=", "later@example.test").executeTakeFirstOrThrow();
    const until = Date.now() + 10_000;
    // attempts counts the claim; last_error is written when the send has failed.
    while ((await row()).last_error === null && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    const failed = await row();
    expect(failed).toMatchObject({ sent_at: null });
    expect(failed.attempts).toBeGreaterThanOrEqual(1);
    expect(failed.last_error).toBeTruthy();
    expect(failed.body).toContain(invitation!.token);
    proxy.restore();
    const mail = await mailbox.waitFor("later@example.test");
    expect(tokenIn(mail)).toBe(invitation!.token);
    expect(mail.text).toContain(`https://canvas.example.test/invitations/accept?token=${invitation!.token}`);
    const sentUntil = Date.now() + 10_000;
    while ((await row()).sent_at === null && Date.now() < sentUntil) await new Promise((r) => setTimeout(r, 50));
    expect(await row()).toMatchObject({ body: "", last_error: null });
    expect((await row()).sent_at).toBeInstanceOf(Date);
  }, 40_000);

  it("a refused invitation queues no mail", async () => {
    const owner = await store.register("owner2");
    const before = await store.db.selectFrom("mail_outbox").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
    await expect(store.clients.projects.createInvitation({ projectId: "00000000-0000-4000-8000-000000000000", email: "x@example.test", role: Role.ROLE_EDITOR }, { token: owner.token })).rejects.toBeTruthy();
    expect(await store.db.selectFrom("mail_outbox").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow()).toEqual(before);
  });
});

describe("without SMTP_URL", () => {
  const capture = () => {
    const lines: string[] = [];
    const log = createLogger("store", "info", new Writable({ write: (chunk, _enc, cb) => (lines.push(chunk.toString()), cb()) }));
    return { lines, log };
  };
  const mail = { to: "dev@example.test", subject: "Reset your SKER password", text: "Open http://localhost:3000/reset-password?token=pr_secret" };

  it("a development store writes the mail, link included, to the log", async () => {
    const { lines, log } = capture();
    await createTransport({ smtpUrl: undefined, from: "SKER <no-reply@localhost>", production: false }, log).send(mail);
    expect(lines.join("")).toContain("reset-password?token=pr_secret");
  });

  it("a production store logs only that the mail was dropped (its link is a credential)", async () => {
    const { lines, log } = capture();
    await createTransport({ smtpUrl: undefined, from: "SKER <no-reply@localhost>", production: true }, log).send(mail);
    expect(lines.join("")).toContain("mail dropped");
    expect(lines.join("")).not.toContain("pr_secret");
  });
});

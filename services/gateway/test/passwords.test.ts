// Password change and reset through the real stack; the reset mail is read from a real SMTP server.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "@sker/testkit/stack";
import { client, register, type Req } from "@sker/testkit/http";
import { tokenIn } from "@sker/testkit/mailbox";
import { WsClient } from "@sker/testkit/ws";

let stack: Stack;
let req: Req;

beforeAll(async () => {
  stack = await startStack({ gatewayEnv: { RATE_LIMIT_RESET_PER_EMAIL: "3" } });
  req = client(stack.url);
}, 60_000);
afterAll(async () => stack?.close());

const login = (email: string, password: string) => req("POST", "/api/v1/auth/login", { body: { email, password } });

describe("changing the password", () => {
  it("ends every other session (refresh families, access tokens, sockets) and answers a fresh one", async () => {
    const u = await register(req, "changer");
    const other = (await login(u.user.email, u.password)).body.data;
    const ws = await WsClient.open(stack.url, other.accessToken);
    await ws.next((f) => f.type === "authenticated");
    const res = await req("POST", "/api/v1/users/me/password", { token: u.accessToken, body: { currentPassword: u.password, newPassword: "a brand new secret" } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect((await ws.waitClose(5_000)).code).toBe(4401);
    for (const refreshToken of [u.refreshToken, other.refreshToken]) expect((await req("POST", "/api/v1/auth/refresh", { body: { refreshToken } })).status).toBe(401);
    for (const token of [u.accessToken, other.accessToken]) expect((await req("GET", "/api/v1/users/me", { token })).status).toBe(401);
    expect((await req("GET", "/api/v1/users/me", { token: res.body.data.accessToken })).status).toBe(200);
    expect((await req("POST", "/api/v1/auth/refresh", { body: { refreshToken: res.body.data.refreshToken } })).status).toBe(200);
    expect((await login(u.user.email, u.password)).status).toBe(401);
    expect((await login(u.user.email, "a brand new secret")).status).toBe(200);
  });

  it("refuses a wrong current password (403 naming the field) and a short new one (400)", async () => {
    const u = await register(req, "careful");
    const wrong = await req("POST", "/api/v1/users/me/password", { token: u.accessToken, body: { currentPassword: "not it at all", newPassword: "a brand new secret" } });
    expect(wrong.status).toBe(403);
    expect(wrong.body.error.details.field).toBe("currentPassword");
    const short = await req("POST", "/api/v1/users/me/password", { token: u.accessToken, body: { currentPassword: u.password, newPassword: "short" } });
    expect(short.status).toBe(400);
    expect(short.body.error.details.field).toContain("newPassword");
    expect((await req("GET", "/api/v1/users/me", { token: u.accessToken })).status).toBe(200);
  });
});

describe("resetting a forgotten password", () => {
  it("mail received → confirm → old refresh tokens refused, the token is single-use, the new password works", async () => {
    const u = await register(req, "forgetful");
    const res = await req("POST", "/api/v1/auth/password-reset", { body: { email: u.user.email } });
    expect(res.status).toBe(202);
    const mail = await stack.mailbox.waitFor(u.user.email, (m) => /Reset your SKER password/.test(m.subject));
    expect(mail.from).toBe("no-reply@example.test");
    const token = tokenIn(mail);
    const confirm = await req("POST", "/api/v1/auth/password-reset/confirm", { body: { token, newPassword: "remembered at last" } });
    expect(confirm.status, JSON.stringify(confirm.body)).toBe(204);
    expect((await req("POST", "/api/v1/auth/refresh", { body: { refreshToken: u.refreshToken } })).status).toBe(401);
    expect((await req("GET", "/api/v1/users/me", { token: u.accessToken })).status).toBe(401);
    const again = await req("POST", "/api/v1/auth/password-reset/confirm", { body: { token, newPassword: "someone else's" } });
    expect(again.status).toBe(400);
    expect(again.body.error.details.field).toBe("token");
    expect((await login(u.user.email, u.password)).status).toBe(401);
    expect((await login(u.user.email, "remembered at last")).status).toBe(200);
  });

  it("answers 202 for an unknown email too, sends it nothing, and stores the token only hashed", async () => {
    const unknown = `ghost-${Date.now()}@example.test`;
    const res = await req("POST", "/api/v1/auth/password-reset", { body: { email: unknown } });
    expect(res.status).toBe(202);
    expect(res.body).toBeNull();
    const u = await register(req, "hashed");
    await req("POST", "/api/v1/auth/password-reset", { body: { email: u.user.email } });
    const mail = await stack.mailbox.waitFor(u.user.email, (m) => /Reset/.test(m.subject));
    expect(stack.mailbox.mails.some((m) => m.to.includes(unknown))).toBe(false);
    const pg = (await import("pg")).default;
    const db = new pg.Client({ connectionString: stack.env.DATABASE_URL });
    await db.connect();
    try {
      const tokens = await db.query("SELECT token_hash FROM user_tokens");
      expect(tokens.rows.length).toBeGreaterThan(0);
      expect(tokens.rows.some((r) => r.token_hash === tokenIn(mail))).toBe(false);
      // The sent mail's body (it carried the link) is not kept once the relay marks it sent.
      const sent = async () => (await db.query("SELECT body FROM mail_outbox WHERE sent_at IS NOT NULL AND to_address = $1", [u.user.email])).rows.map((r) => r.body);
      const until = Date.now() + 10_000;
      while ((await sent()).length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      expect(await sent()).toEqual([""]);
    } finally {
      await db.end();
    }
  });

  it("is rate limited per email (429 with Retry-After) and refuses bad input naming the field", async () => {
    const email = `target-${Date.now()}@example.test`;
    const codes: number[] = [];
    for (let i = 0; i < 4; i++) codes.push((await req("POST", "/api/v1/auth/password-reset", { body: { email } })).status);
    expect(codes).toEqual([202, 202, 202, 429]);
    const bad = await req("POST", "/api/v1/auth/password-reset", { body: { email: "nope" } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.field).toContain("email");
    const noToken = await req("POST", "/api/v1/auth/password-reset/confirm", { body: { token: "pr_unknown", newPassword: "long enough indeed" } });
    expect(noToken.status).toBe(400);
    expect(noToken.body.error.details.field).toBe("token");
  });
});

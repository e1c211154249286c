// Invitations by email, through the real gateway, store, PostgreSQL, RabbitMQ and an SMTP server.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "@sker/testkit/stack";
import { client, register, type Req } from "@sker/testkit/http";
import { tokenIn } from "@sker/testkit/mailbox";
import { WsClient } from "@sker/testkit/ws";

let stack: Stack;
let req: Req;
let owner: Awaited<ReturnType<typeof register>>;
let project: string;

const fresh = (name: string) => `${name}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}@example.test`;
const signUp = (email: string, invitationToken?: string) =>
  req("POST", "/api/v1/auth/register", { body: { email, username: email.split("@")[0].replace(/[^a-zA-Z0-9_-]/g, "").slice(0, 32), password: "correct horse battery", ...(invitationToken ? { invitationToken } : {}) } });
const projectIds = async (token: string) => ((await req("GET", "/api/v1/projects", { token })).body.data.items as { id: string }[]).map((p) => p.id);

beforeAll(async () => {
  stack = await startStack();
  req = client(stack.url);
  owner = await register(req, "owner");
  project = (await req("POST", "/api/v1/projects", { token: owner.accessToken, body: { name: "Moon base" } })).body.data.id;
}, 60_000);
afterAll(async () => stack?.close());

describe("inviting by email", () => {
  it("adds an existing account at once: member.added on the socket, and the project in their list", async () => {
    const bob = await register(req, "bob");
    const ws = await WsClient.open(stack.url, owner.accessToken);
    ws.send({ type: "subscribe", projectId: project });
    await ws.next((f) => f.type === "subscribed");
    const res = await req("POST", `/api/v1/projects/${project}/invitations`, { token: owner.accessToken, body: { email: bob.user.email.toUpperCase(), role: "editor" } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.data).toMatchObject({ status: "added", member: { userId: bob.user.id, username: bob.user.username, role: "editor" } });
    const event = await ws.next((f) => f.type === "event" && f.name === "member.added");
    expect(event.data).toMatchObject({ userId: bob.user.id, role: "editor" });
    expect(event.data.email).toBeUndefined();
    ws.close();
    expect(await projectIds(bob.accessToken)).toContain(project);
    // Inviting a member again is a conflict naming the field.
    const again = await req("POST", `/api/v1/projects/${project}/invitations`, { token: owner.accessToken, body: { email: bob.user.email, role: "viewer" } });
    expect(again.status).toBe(409);
    expect(again.body.error.details.field).toBe("email");
  });

  it("without a role the invitee is an editor (the role's published default), for an account and a pending invitation alike", async () => {
    const dave = await register(req, "dave");
    const added = await req("POST", `/api/v1/projects/${project}/invitations`, { token: owner.accessToken, body: { email: dave.user.email } });
    expect(added.status, JSON.stringify(added.body)).toBe(201);
    expect(added.body.data).toMatchObject({ status: "added", member: { userId: dave.user.id, role: "editor" } });
    const invited = await req("POST", `/api/v1/projects/${project}/invitations`, { token: owner.accessToken, body: { email: fresh("erin") } });
    expect(invited.status, JSON.stringify(invited.body)).toBe(201);
    expect(invited.body.data).toMatchObject({ status: "invited", invitation: { role: "editor" } });
  });

  it("unknown email → pending invitation, mailed with its token → register with it → member", async () => {
    const email = fresh("carol");
    const res = await req("POST", `/api/v1/projects/${project}/invitations`, { token: owner.accessToken, body: { email, role: "viewer" } });
    expect(res.status).toBe(201);
    const inv = res.body.data.invitation;
    expect(res.body.data.status).toBe("invited");
    expect(inv).toMatchObject({ email, role: "viewer", invitedBy: owner.user.id });
    expect(inv.link).toContain(inv.token);
    expect(new Date(inv.expiresAt).getTime()).toBeGreaterThan(Date.now() + 86_400_000);
    const listed = await req("GET", `/api/v1/projects/${project}/invitations`, { token: owner.accessToken });
    expect(listed.body.data.items.map((i: { id: string }) => i.id)).toContain(inv.id);
    expect(listed.body.data.items[0].token).toBeUndefined();

    const mail = await stack.mailbox.waitFor(email, (m) => m.subject.includes("Moon base"));
    expect(tokenIn(mail)).toBe(inv.token);
    const carol = await signUp(email, tokenIn(mail));
    expect(carol.status).toBe(201);
    expect(await projectIds(carol.body.data.accessToken)).toContain(project);
    const members = await req("GET", `/api/v1/projects/${project}/members`, { token: owner.accessToken });
    expect(members.body.data.items.find((m: { userId: string }) => m.userId === carol.body.data.user.id)).toMatchObject({ role: "viewer", email, username: carol.body.data.user.username });
    // Spent: no longer pending.
    expect((await req("GET", `/api/v1/projects/${project}/invitations`, { token: owner.accessToken })).body.data.items.map((i: { id: string }) => i.id)).not.toContain(inv.id);
  });

  it("revoked invitation → register with its token → not a member", async () => {
    const email = fresh("dave");
    const inv = (await req("POST", `/api/v1/projects/${project}/invitations`, { token: owner.accessToken, body: { email, role: "editor" } })).body.data.invitation;
    expect((await req("DELETE", `/api/v1/projects/${project}/invitations/${inv.id}`, { token: owner.accessToken })).status).toBe(204);
    expect((await req("DELETE", `/api/v1/projects/${project}/invitations/${inv.id}`, { token: owner.accessToken })).status).toBe(404);
    const dave = await signUp(email, inv.token);
    expect(dave.status).toBe(201);
    expect(await projectIds(dave.body.data.accessToken)).not.toContain(project);
    expect((await req("POST", "/api/v1/invitations/accept", { token: dave.body.data.accessToken, body: { token: inv.token } })).status).toBe(404);
  });

  it("a token is not enough for another email at sign-up; a signed-in user accepts it explicitly", async () => {
    const email = fresh("erin");
    const inv = (await req("POST", `/api/v1/projects/${project}/invitations`, { token: owner.accessToken, body: { email, role: "editor" } })).body.data.invitation;
    const other = await signUp(fresh("mallory"), inv.token);
    expect(await projectIds(other.body.data.accessToken)).not.toContain(project);
    // The owner passed the link on to this person: accepting it is explicit.
    const accepted = await req("POST", "/api/v1/invitations/accept", { token: other.body.data.accessToken, body: { token: inv.token } });
    expect(accepted.status).toBe(200);
    expect(accepted.body.data).toMatchObject({ id: project, role: "editor" });
    expect((await req("POST", "/api/v1/invitations/accept", { token: other.body.data.accessToken, body: { token: inv.token } })).status).toBe(404);
  });

  it("registering without the token joins once the mailbox is verified", async () => {
    const email = fresh("frank");
    await req("POST", `/api/v1/projects/${project}/invitations`, { token: owner.accessToken, body: { email, role: "viewer" } });
    const frank = await signUp(email);
    const token = frank.body.data.accessToken;
    expect(await projectIds(token)).not.toContain(project);
    expect((await req("POST", "/api/v1/users/me/verify-email", { token })).status).toBe(202);
    const mail = await stack.mailbox.waitFor(email, (m) => /Confirm your email/.test(m.subject));
    const verified = await req("POST", "/api/v1/auth/verify-email", { body: { token: tokenIn(mail) } });
    expect(verified.body.data).toMatchObject({ emailVerified: true, role: "user" });
    expect(await projectIds(token)).toContain(project);
    const other = (await req("POST", "/api/v1/projects", { token: owner.accessToken, body: { name: "Second" } })).body.data.id;
    const res = await req("POST", `/api/v1/projects/${other}/invitations`, { token: owner.accessToken, body: { email, role: "viewer" } });
    // Verified accounts exist, so they are added at once.
    expect(res.body.data.status).toBe("added");
    // A spent verification token is refused, naming the field.
    const spent = await req("POST", "/api/v1/auth/verify-email", { body: { token: tokenIn(mail) } });
    expect(spent.status).toBe(400);
    expect(spent.body.error.details.field).toBe("token");
  });

  it("only owners invite, list or revoke; non-members learn nothing; emails are listed to owners only", async () => {
    const editor = await register(req, "ed");
    const stranger = await register(req, "stranger");
    await req("PUT", `/api/v1/projects/${project}/members/${editor.user.id}`, { token: owner.accessToken, body: { role: "editor" } });
    for (const email of [owner.user.email, fresh("nobody")]) {
      expect((await req("POST", `/api/v1/projects/${project}/invitations`, { token: editor.accessToken, body: { email, role: "owner" } })).body.error.code).toBe("FORBIDDEN");
      expect((await req("POST", `/api/v1/projects/${project}/invitations`, { token: stranger.accessToken, body: { email, role: "owner" } })).body.error.code).toBe("NOT_FOUND");
    }
    expect((await req("GET", `/api/v1/projects/${project}/invitations`, { token: editor.accessToken })).status).toBe(403);
    expect((await req("GET", `/api/v1/projects/${project}/invitations`, { token: stranger.accessToken })).status).toBe(404);
    const asEditor = await req("GET", `/api/v1/projects/${project}/members`, { token: editor.accessToken });
    expect(asEditor.body.data.items.every((m: { email?: string; username: string }) => m.email === undefined && m.username)).toBe(true);
    const asOwner = await req("GET", `/api/v1/projects/${project}/members`, { token: owner.accessToken });
    expect(asOwner.body.data.items.find((m: { userId: string }) => m.userId === editor.user.id)).toMatchObject({ email: editor.user.email, joinedAt: expect.any(String) });
  });

  it("bad input is a 400 naming the field", async () => {
    const bad = await req("POST", `/api/v1/projects/${project}/invitations`, { token: owner.accessToken, body: { email: "not-an-email", role: "editor" } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.field).toContain("email");
    const role = await req("POST", `/api/v1/projects/${project}/invitations`, { token: owner.accessToken, body: { email: fresh("x"), role: "god" } });
    expect(role.status).toBe(400);
    expect(role.body.error.details.field).toContain("role");
  });
});

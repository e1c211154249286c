import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectAppError, startTestStore, type TestStore } from "@sker/testkit/store";

describe("UserService", () => {
  let store: TestStore;
  let gateway: { token: string };
  beforeAll(async () => {
    store = await startTestStore({ driver: "pg" });
    gateway = { token: await store.serviceToken("gateway") };
  });
  afterAll(async () => {
    await store?.shutdown();
  });
  const users = () => store.clients.users;
  const countUsers = async () => (await store.db.selectFrom("users").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow()).n;

  it("registers and logs in by email or username, case-insensitively", async () => {
    const a = await store.register("reg");
    expect(a.session.user).toMatchObject({ email: a.email, username: a.username, displayName: "reg" });
    expect(a.session.expiresIn).toBe(900);
    const byEmail = await users().login({ login: a.email.toUpperCase(), password: a.password }, gateway);
    const byName = await users().login({ login: a.username, password: a.password }, gateway);
    expect(byEmail.session?.user?.id).toBe(a.id);
    expect(byName.session?.user?.id).toBe(a.id);
    const me = await users().getMe({}, { token: byName.session!.accessToken });
    expect(me.user?.id).toBe(a.id);
    const stored = await store.db.selectFrom("users").select("password_hash").where("id", "=", a.id).executeTakeFirstOrThrow();
    expect(stored.password_hash).toMatch(/^scrypt\$/);
    expect(stored.password_hash).not.toContain(a.password);
  });

  it("refuses a duplicate email or username (ALREADY_EXISTS naming the field), writing nothing", async () => {
    const a = await store.register("dup");
    const before = await countUsers();
    const e1 = await expectAppError(users().register({ email: a.email.toUpperCase(), username: "other_name_x", password: "long enough", displayName: "" }, gateway), "CONFLICT");
    expect(e1.details?.field).toBe("email");
    const e2 = await expectAppError(users().register({ email: "fresh@example.test", username: a.username.toUpperCase(), password: "long enough", displayName: "" }, gateway), "CONFLICT");
    expect(e2.details?.field).toBe("username");
    expect(await countUsers()).toBe(before);
  });

  it("names the bad field on invalid registrations and writes nothing", async () => {
    const before = await countUsers();
    const ok = { email: "x@example.test", username: "good_name", password: "long enough", displayName: "" };
    await expectAppError(users().register({ ...ok, email: "" }, gateway), "VALIDATION_ERROR", "email");
    await expectAppError(users().register({ ...ok, email: "not-an-email" }, gateway), "VALIDATION_ERROR", "email");
    await expectAppError(users().register({ ...ok, username: "ab" }, gateway), "VALIDATION_ERROR", "username");
    await expectAppError(users().register({ ...ok, username: "bad name!" }, gateway), "VALIDATION_ERROR", "username");
    await expectAppError(users().register({ ...ok, password: "short" }, gateway), "VALIDATION_ERROR", "password");
    await expectAppError(users().register({ ...ok, displayName: "x".repeat(101) }, gateway), "VALIDATION_ERROR", "displayName");
    expect(await countUsers()).toBe(before);
  });

  it("answers UNAUTHENTICATED to a wrong password or an unknown login", async () => {
    const a = await store.register("pw");
    await expectAppError(users().login({ login: a.email, password: "wrong password" }, gateway), "UNAUTHENTICATED");
    await expectAppError(users().login({ login: "nobody@example.test", password: "whatever1" }, gateway), "UNAUTHENTICATED");
    await expectAppError(users().login({ login: "", password: "whatever1" }, gateway), "VALIDATION_ERROR", "login");
  });

  it("rotates refresh tokens, and reuse of a spent one revokes the whole family", async () => {
    const a = await store.register("rot");
    const r1 = await users().refresh({ refreshToken: a.refreshToken }, gateway);
    expect(r1.session?.refreshToken).not.toBe(a.refreshToken);
    const r2 = await users().refresh({ refreshToken: r1.session!.refreshToken }, gateway);
    // The first token again: reuse. It fails, and so does the newest token of that family.
    await expectAppError(users().refresh({ refreshToken: a.refreshToken }, gateway), "UNAUTHENTICATED");
    await expectAppError(users().refresh({ refreshToken: r2.session!.refreshToken }, gateway), "UNAUTHENTICATED");
    // Another login (another family) is untouched.
    const other = await users().login({ login: a.username, password: a.password }, gateway);
    const r3 = await users().refresh({ refreshToken: other.session!.refreshToken }, gateway);
    expect(r3.session?.user?.id).toBe(a.id);
    const stored = await store.db.selectFrom("refresh_tokens").select("token_hash").where("user_id", "=", a.id).execute();
    expect(stored.map((s) => s.token_hash)).not.toContain(a.refreshToken);
  });

  it("lets only one of two concurrent refreshes with the same token win", async () => {
    const a = await store.register("race");
    const results = await Promise.allSettled([users().refresh({ refreshToken: a.refreshToken }, gateway), users().refresh({ refreshToken: a.refreshToken }, gateway)]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    // The loser saw a spent token: the family is revoked, so the winner's new token is dead too.
    const winner = results.find((r) => r.status === "fulfilled") as PromiseFulfilledResult<{ session?: { refreshToken: string } }>;
    await expectAppError(users().refresh({ refreshToken: winner.value.session!.refreshToken }, gateway), "UNAUTHENTICATED");
  });

  it("logs out: the family's refresh tokens stop working", async () => {
    const a = await store.register("out");
    await users().logout({ refreshToken: a.refreshToken }, gateway);
    await expectAppError(users().refresh({ refreshToken: a.refreshToken }, gateway), "UNAUTHENTICATED");
    await expectAppError(users().refresh({ refreshToken: "rt_unknown" }, gateway), "UNAUTHENTICATED");
    await expectAppError(users().logout({ refreshToken: "" }, gateway), "VALIDATION_ERROR", "refreshToken");
  });

  it("refuses the session RPCs to a user token and the user RPCs to a service token", async () => {
    const a = await store.register("svc");
    await expectAppError(users().login({ login: a.email, password: a.password }, { token: a.token }), "UNAUTHENTICATED");
    await expectAppError(users().verifyApiKey({ key: "sk_x" }, { token: a.token }), "UNAUTHENTICATED");
    await expectAppError(users().getMe({}, gateway), "UNAUTHENTICATED");
    await expectAppError(users().getMe({}, { token: "not-a-jwt" }), "UNAUTHENTICATED");
  });

  it("updates the profile and validates it", async () => {
    const a = await store.register("prof");
    const { user } = await users().updateMe({ displayName: "Alice A.", avatarUrl: "https://example.test/a.png", settings: { theme: "dark" } }, { token: a.token });
    expect(user).toMatchObject({ displayName: "Alice A.", avatarUrl: "https://example.test/a.png", settings: { theme: "dark" } });
    await expectAppError(users().updateMe({ avatarUrl: "javascript:alert(1)" }, { token: a.token }), "VALIDATION_ERROR", "avatarUrl");
    expect((await users().getMe({}, { token: a.token })).user?.avatarUrl).toBe("https://example.test/a.png");
  });

  it("shows an API key once, stores it hashed, verifies it to a short access token, deletes it", async () => {
    const a = await store.register("keys");
    const { apiKey } = await users().createApiKey({ name: "ci" }, { token: a.token });
    expect(apiKey?.key).toMatch(/^sk_/);
    const row = await store.db.selectFrom("api_keys").selectAll().where("id", "=", apiKey!.id).executeTakeFirstOrThrow();
    expect(row.key_hash).not.toBe(apiKey!.key);
    const listed = await users().listApiKeys({}, { token: a.token });
    expect(listed.apiKeys).toHaveLength(1);
    expect(listed.apiKeys[0]).toMatchObject({ id: apiKey!.id, name: "ci", key: "" });
    const v = await users().verifyApiKey({ key: apiKey!.key }, gateway);
    expect(v).toMatchObject({ apiKeyId: apiKey!.id, expiresIn: 300 });
    expect((await users().getMe({}, { token: v.accessToken })).user?.id).toBe(a.id);
    await expectAppError(users().verifyApiKey({ key: apiKey!.key + "x" }, gateway), "UNAUTHENTICATED");
    await expectAppError(users().createApiKey({ name: " " }, { token: a.token }), "VALIDATION_ERROR", "name");
    await expectAppError(users().deleteApiKey({ id: "nope" }, { token: a.token }), "VALIDATION_ERROR", "id");
    const b = await store.register("other");
    await expectAppError(users().deleteApiKey({ id: apiKey!.id }, { token: b.token }), "NOT_FOUND");
    await users().deleteApiKey({ id: apiKey!.id }, { token: a.token });
    await expectAppError(users().verifyApiKey({ key: apiKey!.key }, gateway), "UNAUTHENTICATED");
  });

  it("DeleteMe: the user's still-valid token is refused at once, co-owned projects survive", async () => {
    const a = await store.register("gone");
    const b = await store.register("stays");
    const p = store.clients.projects;
    const solo = (await p.createProject({ name: "solo", description: "" }, { token: a.token })).project!;
    const shared = (await p.createProject({ name: "shared", description: "" }, { token: a.token })).project!;
    await p.putMember({ projectId: shared.id, userId: b.id, role: "ROLE_OWNER" }, { token: a.token });
    await users().getMe({}, { token: a.token }); // caches "alive"
    await users().deleteMe({}, { token: a.token });
    await expectAppError(users().getMe({}, { token: a.token }), "UNAUTHENTICATED");
    await expectAppError(p.listProjects({}, { token: a.token }), "UNAUTHENTICATED");
    await expectAppError(users().login({ login: a.email, password: a.password }, gateway), "UNAUTHENTICATED");
    const left = await p.getProject({ id: shared.id }, { token: b.token });
    expect(left.project?.ownerId).toBe(b.id);
    expect((await p.listMembers({ projectId: shared.id }, { token: b.token })).members.map((m) => m.userId)).toEqual([b.id]);
    expect(await store.db.selectFrom("projects").select("id").where("id", "=", solo.id).executeTakeFirst()).toBeUndefined();
  });
});

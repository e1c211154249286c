// Identity in the store itself: transparent rehash of old password hashes, the first account of
// an empty embedded install as admin, orphan-free account deletion, titles from content.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "@sker/contracts/common/v1/common";
import { UserRole } from "@sker/contracts/store/v1/user";
import { expectAppError, startTestStore, type TestStore } from "@sker/testkit/store";
import { loadStoreConfig } from "../src/config.js";
import { resourceOf } from "./support/events.js";

describe("password hashes", () => {
  let store: TestStore;
  beforeAll(async () => {
    store = await startTestStore({ driver: "pg", redis: false });
  });
  afterAll(async () => store?.shutdown());

  it("an old, cheaper hash is replaced at the next successful login (not at a failed one)", async () => {
    const u = await store.register("old");
    const hashOf = async () => (await store.db.selectFrom("users").select("password_hash").where("id", "=", u.id).executeTakeFirstOrThrow()).password_hash;
    expect(await hashOf()).toMatch(/^scrypt\$1024\$8\$1\$/);
    // The same database under a store whose cost is higher (as after an upgrade).
    const stronger = await startTestStore({ shareDb: store.testDb, redis: false, env: { SCRYPT_COST: "4096" } });
    try {
      const gateway = { token: await stronger.serviceToken("gateway") };
      await expectAppError(stronger.clients.users.login({ login: u.email, password: "wrong password" }, gateway), "UNAUTHENTICATED");
      expect(await hashOf()).toMatch(/^scrypt\$1024\$/);
      await stronger.clients.users.login({ login: u.email, password: u.password }, gateway);
      expect(await hashOf()).toMatch(/^scrypt\$4096\$8\$1\$/);
      // And the new hash still verifies.
      expect((await stronger.clients.users.login({ login: u.username, password: u.password }, gateway)).session?.user?.id).toBe(u.id);
    } finally {
      await stronger.shutdown();
    }
  });

  it("production keeps OWASP's minimum: N=2^17 by default, a lower SCRYPT_COST refused at start", () => {
    const base = { JWT_SECRET: "Zq8vN3kLw0pR7tY2uX5cB9mH4jF6gD1sA0eQ", DATABASE_URL: "postgres://x@127.0.0.1/x" };
    expect(loadStoreConfig({ ...base, NODE_ENV: "production" }).scryptCost).toBe(1 << 17);
    expect(() => loadStoreConfig({ ...base, NODE_ENV: "production", SCRYPT_COST: "1024" })).toThrow(/SCRYPT_COST/);
    expect(loadStoreConfig({ ...base, SCRYPT_COST: "1024" }).scryptCost).toBe(1024);
  });
});

describe("the first account of an empty embedded install", () => {
  it("is an admin; the second is not", async () => {
    const store = await startTestStore({ driver: "pglite", redis: false });
    try {
      const [first, second] = [await store.register("first"), await store.register("second")];
      expect((await store.clients.users.getMe({}, { token: first.token })).user?.role).toBe(UserRole.USER_ROLE_ADMIN);
      expect((await store.clients.users.getMe({}, { token: second.token })).user?.role).toBe(UserRole.USER_ROLE_USER);
    } finally {
      await store.shutdown();
    }
  });

  it("is not special on PostgreSQL (admins there come from make admin or a verified SKER_ADMIN_EMAILS)", async () => {
    const store = await startTestStore({ driver: "pg", redis: false });
    try {
      const first = await store.register("first");
      expect((await store.clients.users.getMe({}, { token: first.token })).user?.role).toBe(UserRole.USER_ROLE_USER);
    } finally {
      await store.shutdown();
    }
  });
});

describe("a project never ends with no owner", () => {
  let store: TestStore;
  beforeAll(async () => {
    store = await startTestStore({ driver: "pg", redis: false });
  });
  afterAll(async () => store?.shutdown());

  const roles = async (projectId: string) =>
    Object.fromEntries((await store.db.selectFrom("project_members").select(["user_id", "role"]).where("project_id", "=", projectId).execute()).map((m) => [m.user_id, m.role]));

  it("deleting the last owner's account makes the longest-standing editor owner (member.updated), not a newer editor or a viewer", async () => {
    const [owner, viewer, oldEditor, newEditor] = [await store.register("o"), await store.register("v"), await store.register("e1"), await store.register("e2")];
    const { project } = await store.clients.projects.createProject({ name: "Keep me" }, { token: owner.token });
    const put = (userId: string, role: Role) => store.clients.projects.putMember({ projectId: project!.id, userId, role }, { token: owner.token });
    await put(viewer.id, Role.ROLE_VIEWER);
    await put(oldEditor.id, Role.ROLE_EDITOR);
    await put(newEditor.id, Role.ROLE_EDITOR);
    // Removing or demoting the last owner is refused (409 at the gateway).
    await expectAppError(store.clients.projects.removeMember({ projectId: project!.id, userId: owner.id }, { token: owner.token }), "FAILED_PRECONDITION");
    await expectAppError(put(owner.id, Role.ROLE_EDITOR), "FAILED_PRECONDITION");

    await store.clients.users.deleteMe({}, { token: owner.token });
    expect(await roles(project!.id)).toEqual({ [viewer.id]: "viewer", [oldEditor.id]: "owner", [newEditor.id]: "editor" });
    const row = await store.db.selectFrom("projects").select(["owner_id", "deleted_at"]).where("id", "=", project!.id).executeTakeFirstOrThrow();
    expect(row).toEqual({ owner_id: oldEditor.id, deleted_at: null });
    const events = await store.db.selectFrom("events").select(["name", "data", "payload"]).where("project_id", "=", project!.id).orderBy("seq").execute();
    expect(events.slice(-2).map((e) => [e.name, resourceOf(e) as { userId: string; role?: string }]).map(([name, m]) => [name, m.userId, m.role ?? null])).toEqual([
      ["member.updated", oldEditor.id, "ROLE_OWNER"],
      ["member.updated", owner.id, null],
    ]);
    // The heir manages it now.
    expect((await store.clients.projects.getProject({ id: project!.id }, { token: oldEditor.token })).project?.role).toBe(Role.ROLE_OWNER);
  });

  it("with only viewers left the longest-standing viewer becomes owner; with nobody left the project goes with the account", async () => {
    const [owner, viewer] = [await store.register("o"), await store.register("v")];
    const shared = (await store.clients.projects.createProject({ name: "Shared" }, { token: owner.token })).project!.id;
    const alone = (await store.clients.projects.createProject({ name: "Alone" }, { token: owner.token })).project!.id;
    await store.clients.projects.putMember({ projectId: shared, userId: viewer.id, role: Role.ROLE_VIEWER }, { token: owner.token });
    await store.clients.users.deleteMe({}, { token: owner.token });
    expect(await roles(shared)).toEqual({ [viewer.id]: "owner" });
    expect(await store.db.selectFrom("projects").select("id").where("id", "=", alone).executeTakeFirst()).toBeUndefined();
  });
});

describe("notes without a title", () => {
  let store: TestStore;
  let token: string;
  let projectId: string;
  beforeAll(async () => {
    store = await startTestStore({ driver: "pg", redis: false });
    const u = await store.register("notes");
    token = u.token;
    projectId = (await store.clients.projects.createProject({ name: "Notes" }, { token })).project!.id;
  });
  afterAll(async () => store?.shutdown());

  it("takes the content's first non-blank line, trimmed, at most 80 characters", async () => {
    const create = async (content: string, title = "") => (await store.clients.nodes.createNode({ projectId, title, content }, { token })).node!;
    expect((await create("\n   Buy milk  \nand eggs")).title).toBe("Buy milk");
    const long = "é".repeat(50) + "😀".repeat(50);
    const derived = (await create(long)).title;
    expect(Array.from(derived)).toHaveLength(80);
    expect(derived).toBe("é".repeat(50) + "😀".repeat(30));
    expect((await create("content", "An explicit title")).title).toBe("An explicit title");
  });

  it("refuses a node with neither title nor content, naming title, writing nothing", async () => {
    const before = await store.db.selectFrom("nodes").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
    await expectAppError(store.clients.nodes.createNode({ projectId, title: "  ", content: " \n\t " }, { token }), "VALIDATION_ERROR", "title");
    expect(await store.db.selectFrom("nodes").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow()).toEqual(before);
  });
});

describe("logout puts the access token on a deny-list until it expires", () => {
  const logoutAndCheck = async (a: TestStore, b: TestStore) => {
    const u = await a.register("leaver");
    const other = (await a.clients.users.login({ login: u.email, password: u.password }, { token: await a.serviceToken("gateway") })).session!;
    await a.clients.users.logout({ refreshToken: u.refreshToken, accessToken: u.token }, { token: await a.serviceToken("gateway") });
    for (const s of [a, b]) await expectAppError(s.clients.users.getMe({}, { token: u.token }), "UNAUTHENTICATED");
    // Only that session's token: the other one goes on, on both replicas.
    for (const s of [a, b]) expect((await s.clients.users.getMe({}, { token: other.accessToken })).user?.id).toBe(u.id);
    // Someone else's access token beside a refresh token is not denied by it.
    const v = await a.register("bystander");
    const w = await a.register("victim");
    await a.clients.users.logout({ refreshToken: v.refreshToken, accessToken: w.token }, { token: await a.serviceToken("gateway") });
    expect((await b.clients.users.getMe({}, { token: w.token })).user?.id).toBe(w.id);
  };

  it("in Redis: every store replica refuses it", async () => {
    const a = await startTestStore({ driver: "pg", redis: true });
    const b = await startTestStore({ shareDb: a.testDb, redis: true, env: { REDIS_KEY_PREFIX: a.keyPrefix, JWT_SECRET: a.config.common.jwtSecret } });
    try {
      await logoutAndCheck(a, b);
    } finally {
      await b.shutdown();
      await a.shutdown();
    }
  });

  it("without Redis (the all-in-one): in the process's memory", async () => {
    const a = await startTestStore({ driver: "pg", redis: false });
    try {
      await logoutAndCheck(a, a);
    } finally {
      await a.shutdown();
    }
  });
});

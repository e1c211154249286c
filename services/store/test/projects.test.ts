import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectAppError, startTestStore, type TestStore, type TestUser } from "@sker/testkit/store";
import { resourceOf } from "./support/events.js";

describe("ProjectService and EventService", () => {
  let store: TestStore;
  let owner: TestUser;
  let editor: TestUser;
  let viewer: TestUser;
  beforeAll(async () => {
    store = await startTestStore({ driver: "pg" });
    [owner, editor, viewer] = await Promise.all([store.register("owner"), store.register("editor"), store.register("viewer")]);
  });
  afterAll(async () => {
    await store?.shutdown();
  });
  const p = () => store.clients.projects;
  const as = (u: TestUser) => ({ token: u.token });
  const count = async (table: "projects" | "project_members" | "events") =>
    (await store.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow()).n;

  async function team() {
    const { project } = await p().createProject({ name: "Team", description: "d", canvasData: { zoom: 1 } }, as(owner));
    await p().putMember({ projectId: project!.id, userId: editor.id, role: "ROLE_EDITOR" }, as(owner));
    await p().putMember({ projectId: project!.id, userId: viewer.id, role: "ROLE_VIEWER" }, as(owner));
    return project!;
  }

  it("creates with the caller as owner, lists the caller's projects with their role, pages them", async () => {
    const u = await store.register("lister");
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await p().createProject({ name: `p${i}` }, as(u))).project!.id);
    const first = await p().listProjects({ page: { limit: 2, cursor: "" } }, as(u));
    expect(first.projects.map((x) => x.id)).toEqual(ids.slice(0, 2));
    expect(first.projects[0]).toMatchObject({ role: "ROLE_OWNER", ownerId: u.id, status: "PROJECT_STATUS_ACTIVE" });
    const rest: string[] = [];
    let cursor = first.nextCursor;
    while (cursor) {
      const page = await p().listProjects({ page: { limit: 2, cursor } }, as(u));
      rest.push(...page.projects.map((x) => x.id));
      cursor = page.nextCursor;
    }
    expect([...first.projects.map((x) => x.id), ...rest]).toEqual(ids);
    // Another user sees none of them.
    expect((await p().listProjects({}, as(editor))).projects.map((x) => x.id)).not.toContain(ids[0]);
  });

  it("applies roles: viewers read, editors update, owners manage members and delete", async () => {
    const t = await team();
    expect((await p().getProject({ id: t.id }, as(viewer))).project?.role).toBe("ROLE_VIEWER");
    await expectAppError(p().updateProject({ id: t.id, name: "nope" }, as(viewer)), "FORBIDDEN");
    const up = await p().updateProject({ id: t.id, name: "Renamed", status: "PROJECT_STATUS_ARCHIVED", settings: { a: 1 } }, as(editor));
    expect(up.project).toMatchObject({ name: "Renamed", status: "PROJECT_STATUS_ARCHIVED", settings: { a: 1 }, description: "d", role: "ROLE_EDITOR" });
    await expectAppError(p().putMember({ projectId: t.id, userId: viewer.id, role: "ROLE_EDITOR" }, as(editor)), "FORBIDDEN");
    await expectAppError(p().deleteProject({ id: t.id }, as(editor)), "FORBIDDEN");
    const archived = await p().listProjects({ status: "PROJECT_STATUS_ARCHIVED" }, as(owner));
    expect(archived.projects.map((x) => x.id)).toContain(t.id);
    expect((await p().listProjects({ status: "PROJECT_STATUS_ACTIVE" }, as(owner))).projects.map((x) => x.id)).not.toContain(t.id);
    await p().deleteProject({ id: t.id }, as(owner));
    await expectAppError(p().getProject({ id: t.id }, as(owner)), "NOT_FOUND");
    await expectAppError(p().getProject({ id: t.id }, as(viewer)), "NOT_FOUND");
  });

  it("writes project.updated and member.updated events, replayed in seq order by ListEvents", async () => {
    const t = await team();
    await p().updateProject({ id: t.id, description: "new" }, as(owner));
    await p().removeMember({ projectId: t.id, userId: viewer.id }, as(owner));
    const { events, latestSeq } = await store.clients.events.listEvents({ projectId: t.id }, as(editor));
    expect(events.map((e) => [e.seq, e.name])).toEqual([
      [1, "member.updated"],
      [2, "member.updated"],
      [3, "project.updated"],
      [4, "member.updated"],
    ]);
    expect(latestSeq).toBe(4);
    expect(resourceOf(events[0])).toMatchObject({ projectId: t.id, userId: editor.id, role: "ROLE_EDITOR" });
    expect(resourceOf(events[2])).toMatchObject({ id: t.id, description: "new", status: "PROJECT_STATUS_ACTIVE" });
    expect(events[3].payload?.resource).toEqual({ $case: "memberRemoved", value: { projectId: t.id, userId: viewer.id } });
    const after = await store.clients.events.listEvents({ projectId: t.id, afterSeq: 2, limit: 1 }, as(owner));
    expect(after.events.map((e) => e.seq)).toEqual([3]);
    // The removed viewer no longer sees anything.
    await expectAppError(store.clients.events.listEvents({ projectId: t.id }, as(viewer)), "NOT_FOUND");
    await expectAppError(store.clients.events.listEvents({ projectId: t.id, limit: 5000 }, as(owner)), "VALIDATION_ERROR", "limit");
    await expectAppError(store.clients.events.listEvents({ projectId: t.id, afterSeq: -1 }, as(owner)), "VALIDATION_ERROR", "afterSeq");
  });

  it("keeps at least one owner (FAILED_PRECONDITION) and NOT_FOUNDs unknown users and members", async () => {
    const t = await team();
    await expectAppError(p().putMember({ projectId: t.id, userId: owner.id, role: "ROLE_EDITOR" }, as(owner)), "FAILED_PRECONDITION");
    await expectAppError(p().removeMember({ projectId: t.id, userId: owner.id }, as(owner)), "FAILED_PRECONDITION");
    await expectAppError(p().putMember({ projectId: t.id, userId: "00000000-0000-4000-8000-000000000000", role: "ROLE_EDITOR" }, as(owner)), "NOT_FOUND");
    const stranger = await store.register("stranger");
    await expectAppError(p().removeMember({ projectId: t.id, userId: stranger.id }, as(owner)), "NOT_FOUND");
    // With a second owner, the first may step down; a member may leave on their own.
    await p().putMember({ projectId: t.id, userId: editor.id, role: "ROLE_OWNER" }, as(owner));
    await p().putMember({ projectId: t.id, userId: owner.id, role: "ROLE_VIEWER" }, as(owner));
    await p().removeMember({ projectId: t.id, userId: viewer.id }, as(viewer));
    const members = (await p().listMembers({ projectId: t.id }, as(editor))).members;
    expect(members.map((m) => [m.userId, m.role]).sort()).toEqual([[owner.id, "ROLE_VIEWER"], [editor.id, "ROLE_OWNER"]].sort());
    expect(members.find((m) => m.userId === editor.id)).toMatchObject({ username: editor.username, email: editor.email });
  });

  it("gives the role change effect at once (membership cache invalidated)", async () => {
    const t = await team();
    await p().getProject({ id: t.id }, as(viewer)); // cached as viewer
    await p().removeMember({ projectId: t.id, userId: viewer.id }, as(owner));
    await expectAppError(p().getProject({ id: t.id }, as(viewer)), "NOT_FOUND");
    await p().putMember({ projectId: t.id, userId: viewer.id, role: "ROLE_EDITOR" }, as(owner));
    await p().updateProject({ id: t.id, name: "by the new editor" }, as(viewer));
    expect((await p().getProject({ id: t.id }, as(owner))).project?.name).toBe("by the new editor");
  });

  it("rejects bad input naming the field, and writes nothing", async () => {
    const t = await team();
    const before = { projects: await count("projects"), members: await count("project_members"), events: await count("events") };
    await expectAppError(p().createProject({ name: "" }, as(owner)), "VALIDATION_ERROR", "name");
    await expectAppError(p().createProject({ name: "   " }, as(owner)), "VALIDATION_ERROR", "name");
    await expectAppError(p().createProject({ name: "x".repeat(201) }, as(owner)), "VALIDATION_ERROR", "name");
    await expectAppError(p().createProject({ name: "ok", description: "x".repeat(5001) }, as(owner)), "VALIDATION_ERROR", "description");
    await expectAppError(p().getProject({ id: "not-a-uuid" }, as(owner)), "VALIDATION_ERROR", "id");
    await expectAppError(p().updateProject({ id: t.id, name: "" }, as(owner)), "VALIDATION_ERROR", "name");
    await expectAppError(p().updateProject({ id: t.id, status: "BOGUS" as never }, as(owner)), "VALIDATION_ERROR", "status");
    await expectAppError(p().listProjects({ status: "BOGUS" as never }, as(owner)), "VALIDATION_ERROR", "status");
    await expectAppError(p().listProjects({ page: { limit: 10_000, cursor: "" } }, as(owner)), "VALIDATION_ERROR", "page.limit");
    await expectAppError(p().listProjects({ page: { limit: 10, cursor: "garbage" } }, as(owner)), "VALIDATION_ERROR", "page.cursor");
    await expectAppError(p().putMember({ projectId: t.id, userId: viewer.id, role: "ROLE_UNSPECIFIED" }, as(owner)), "VALIDATION_ERROR", "role");
    await expectAppError(p().putMember({ projectId: t.id, userId: viewer.id, role: "ROLE_GOD" as never }, as(owner)), "VALIDATION_ERROR", "role");
    await expectAppError(p().putMember({ projectId: "x", userId: viewer.id, role: "ROLE_EDITOR" }, as(owner)), "VALIDATION_ERROR", "projectId");
    await expectAppError(p().removeMember({ projectId: t.id, userId: "x" }, as(owner)), "VALIDATION_ERROR", "userId");
    expect({ projects: await count("projects"), members: await count("project_members"), events: await count("events") }).toEqual(before);
    expect((await p().getProject({ id: t.id }, as(owner))).project?.name).toBe("Team");
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestStore, type TestStore } from "@sker/testkit/store";

describe.each(["pg", "pglite"] as const)("store smoke on %s", (driver) => {
  let store: TestStore;
  beforeAll(async () => {
    store = await startTestStore({ driver });
  });
  afterAll(async () => {
    await store?.shutdown();
  });

  it("registers, creates a project, lists it", async () => {
    const alice = await store.register("alice");
    const { project } = await store.clients.projects.createProject({ name: "P", description: "", canvasData: {}, settings: {} }, { token: alice.token });
    expect(project?.role).toBe("ROLE_OWNER");
    const list = await store.clients.projects.listProjects({ page: undefined, status: "PROJECT_STATUS_UNSPECIFIED" }, { token: alice.token });
    expect(list.projects.map((p) => p.id)).toEqual([project!.id]);
  });
});

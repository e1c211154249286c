// Tenancy, generated from the service definitions: for EVERY method of every store service, a
// member of project P aims the call at project Q's resources and must get NOT_FOUND (never the
// data, never a change), or UNAUTHENTICATED for the service-only RPCs called with a user token.
// A method with no case here fails the test, so a new RPC cannot ship without its check.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ErrorCode } from "@sker/kit";
import { UsageScope } from "@sker/contracts/store/v1/usage";
import { STORE_SERVICES } from "../src/services.js";
import { expectAppError, startTestStore, type StoreClients, type TestStore, type TestUser } from "@sker/testkit/store";

interface World {
  store: TestStore;
  alice: TestUser; // owner of P (the caller)
  bob: TestUser; // owner of Q (the victim)
  p: { project: string; node: string };
  q: { project: string; node: string; node2: string; connection: string; task: string; apiKey: string; run: string };
}

type Case =
  | { expect: Extract<ErrorCode, "NOT_FOUND" | "UNAUTHENTICATED">; call: (c: StoreClients, w: World, as: { token: string }) => Promise<unknown> }
  | { check: (c: StoreClients, w: World, as: { token: string }) => Promise<void> };

const nf = (call: Extract<Case, { call: unknown }>["call"]): Case => ({ expect: "NOT_FOUND", call });
const svc = (call: Extract<Case, { call: unknown }>["call"]): Case => ({ expect: "UNAUTHENTICATED", call });

type Table = { [S in keyof typeof STORE_SERVICES]: { [M in keyof (typeof STORE_SERVICES)[S]]: Case } };

const CASES: Table = {
  "sker.store.v1.UserService": {
    register: svc((c) => c.users.register({ email: "x@example.test", username: "intruder", password: "long enough" }, as())),
    login: svc((c, w) => c.users.login({ login: w.bob.email, password: w.bob.password }, as())),
    refresh: svc((c, w) => c.users.refresh({ refreshToken: w.bob.refreshToken }, as())),
    logout: svc((c, w) => c.users.logout({ refreshToken: w.bob.refreshToken }, as())),
    verifyApiKey: svc((c) => c.users.verifyApiKey({ key: "sk_x" }, as())),
    // Account RPCs act on the caller only: nothing of Bob's is visible or touched.
    getMe: { check: async (c, w, t) => expect((await c.users.getMe({}, t)).user?.id).toBe(w.alice.id) },
    updateMe: {
      check: async (c, w, t) => {
        await c.users.updateMe({ displayName: "changed" }, t);
        expect((await c.users.getMe({}, { token: w.bob.token })).user?.displayName).not.toBe("changed");
      },
    },
    deleteMe: {
      check: async (c, w) => {
        const carol = await w.store.register("carol");
        await c.projects.putMember({ projectId: w.p.project, userId: carol.id, role: "ROLE_EDITOR" }, { token: w.alice.token });
        await c.users.deleteMe({}, { token: carol.token });
        expect((await c.users.getMe({}, { token: w.bob.token })).user?.id).toBe(w.bob.id);
      },
    },
    createApiKey: {
      check: async (c, w, t) => {
        await c.users.createApiKey({ name: "alice's" }, t);
        expect((await c.users.listApiKeys({}, { token: w.bob.token })).apiKeys.map((k) => k.name)).toEqual(["bob's"]);
      },
    },
    listApiKeys: { check: async (c, w, t) => expect((await c.users.listApiKeys({}, t)).apiKeys.map((k) => k.id)).not.toContain(w.q.apiKey) },
    deleteApiKey: nf((c, w, t) => c.users.deleteApiKey({ id: w.q.apiKey }, t)),
    changePassword: {
      check: async (c, w, t) => {
        const carol = await w.store.register("carol");
        await c.users.changePassword({ currentPassword: carol.password, newPassword: "another long one" }, { token: carol.token });
        // Only the caller's password changes (Bob's row is in the snapshot compared below).
        await expectAppError(c.users.changePassword({ currentPassword: w.bob.password, newPassword: "another long one" }, t), "FORBIDDEN");
      },
    },
    requestPasswordReset: svc((c, w) => c.users.requestPasswordReset({ email: w.bob.email }, as())),
    confirmPasswordReset: svc((c) => c.users.confirmPasswordReset({ token: "pr_x", newPassword: "long enough" }, as())),
    requestEmailVerification: { check: async (c, w, t) => expect(await c.users.requestEmailVerification({}, t)).toEqual({}) },
    verifyEmail: svc((c) => c.users.verifyEmail({ token: "ve_x" }, as())),
    // Admin RPCs: a plain member gets FORBIDDEN, and nothing of Bob's.
    listUsers: { check: async (c, _w, t) => void (await expectAppError(c.users.listUsers({}, t), "FORBIDDEN")) },
    setUserDisabled: { check: async (c, w, t) => void (await expectAppError(c.users.setUserDisabled({ userId: w.bob.id, disabled: true }, t), "FORBIDDEN")) },
  },
  "sker.store.v1.ProjectService": {
    createProject: {
      check: async (c, w, t) => {
        const { project } = await c.projects.createProject({ name: "mine" }, t);
        expect(project?.ownerId).toBe(w.alice.id);
      },
    },
    getProject: nf((c, w, t) => c.projects.getProject({ id: w.q.project }, t)),
    listProjects: { check: async (c, w, t) => expect((await c.projects.listProjects({}, t)).projects.map((p) => p.id)).not.toContain(w.q.project) },
    updateProject: nf((c, w, t) => c.projects.updateProject({ id: w.q.project, name: "pwned" }, t)),
    deleteProject: nf((c, w, t) => c.projects.deleteProject({ id: w.q.project }, t)),
    getGraph: nf((c, w, t) => c.projects.getGraph({ projectId: w.q.project }, t)),
    listMembers: nf((c, w, t) => c.projects.listMembers({ projectId: w.q.project }, t)),
    putMember: nf((c, w, t) => c.projects.putMember({ projectId: w.q.project, userId: w.alice.id, role: "ROLE_OWNER" }, t)),
    removeMember: nf((c, w, t) => c.projects.removeMember({ projectId: w.q.project, userId: w.bob.id }, t)),
    createInvitation: nf((c, w, t) => c.projects.createInvitation({ projectId: w.q.project, email: "someone@example.test", role: "ROLE_EDITOR" }, t)),
    listInvitations: nf((c, w, t) => c.projects.listInvitations({ projectId: w.q.project }, t)),
    revokeInvitation: nf((c, w, t) => c.projects.revokeInvitation({ projectId: w.q.project, id: "00000000-0000-4000-8000-000000000009" }, t)),
    acceptInvitation: nf((c, _w, t) => c.projects.acceptInvitation({ token: "inv_not-a-real-one" }, t)),
  },
  "sker.store.v1.NodeService": {
    createNode: nf((c, w, t) => c.nodes.createNode({ projectId: w.q.project, title: "pwned" }, t)),
    getNode: nf((c, w, t) => c.nodes.getNode({ id: w.q.node }, t)),
    getNodes: { check: async (c, w, t) => expect((await c.nodes.getNodes({ ids: [w.q.node, w.p.node] }, t)).nodes.map((n) => n.id)).toEqual([w.p.node]) },
    listNodes: nf((c, w, t) => c.nodes.listNodes({ projectId: w.q.project }, t)),
    listNodesJson: nf((c, w, t) => c.nodes.listNodesJson({ projectId: w.q.project }, t)),
    updateNode: nf((c, w, t) => c.nodes.updateNode({ id: w.q.node, title: "pwned" }, t)),
    deleteNode: nf((c, w, t) => c.nodes.deleteNode({ id: w.q.node, permanent: true }, t)),
    restoreNode: nf((c, w, t) => c.nodes.restoreNode({ id: w.q.node }, t)),
    listNodeVersions: nf((c, w, t) => c.nodes.listNodeVersions({ nodeId: w.q.node }, t)),
    rollbackNode: nf((c, w, t) => c.nodes.rollbackNode({ id: w.q.node, version: 1 }, t)),
  },
  "sker.store.v1.ConnectionService": {
    createConnection: nf((c, w, t) => c.connections.createConnection({ projectId: w.q.project, sourceNodeId: w.q.node2, targetNodeId: w.q.node, type: "CONNECTION_TYPE_REFERENCE" }, t)),
    getConnection: nf((c, w, t) => c.connections.getConnection({ id: w.q.connection }, t)),
    listConnections: nf((c, w, t) => c.connections.listConnections({ projectId: w.q.project }, t)),
    listConnectionsJson: nf((c, w, t) => c.connections.listConnectionsJson({ projectId: w.q.project }, t)),
    updateConnection: nf((c, w, t) => c.connections.updateConnection({ id: w.q.connection, label: "pwned" }, t)),
    deleteConnection: nf((c, w, t) => c.connections.deleteConnection({ id: w.q.connection }, t)),
  },
  "sker.store.v1.TaskService": {
    createTask: {
      // Broker-only: relayed for Alice it is NOT_FOUND in Q; Alice's own token is refused outright.
      check: async (c, w, t) => {
        const req = { projectId: w.q.project, type: "TASK_TYPE_OPTIMIZE", nodeId: w.q.node } as const;
        await expectAppError(c.tasks.createTask(req, await w.store.viaBroker(t)), "NOT_FOUND");
        await expectAppError(c.tasks.createTask(req, t), "FORBIDDEN");
      },
    },
    getTask: nf((c, w, t) => c.tasks.getTask({ id: w.q.task }, t)),
    listTasks: nf((c, w, t) => c.tasks.listTasks({ projectId: w.q.project }, t)),
    cancelTask: nf((c, w, t) => c.tasks.cancelTask({ id: w.q.task }, t)),
    // Deprecated here (moved to TaskLifecycleService), still served: still the broker's alone.
    startTask: svc((c, w, t) => c.tasks.startTask({ id: w.q.task, workerId: "w", leaseMs: 1000 }, t)),
    renewLease: svc((c, w, t) => c.tasks.renewLease({ id: w.q.task, workerId: "w", leaseMs: 1000 }, t)),
    completeTask: svc((c, w, t) => c.tasks.completeTask({ id: w.q.task, workerId: "w", output: { title: "x", content: "pwned", tags: [], semanticType: "", importance: 3, confidence: 1 } }, t)),
    failTask: svc((c, w, t) => c.tasks.failTask({ id: w.q.task, workerId: "w", error: { code: "X", message: "x" }, final: true }, t)),
    reclaimTasks: svc((c, _w, t) => c.tasks.reclaimTasks({ queuedAfterMs: 0, limit: 10 }, t)),
    requeueTask: svc((c, w, t) => c.tasks.requeueTask({ id: w.q.task }, t)),
    claimDispatches: svc((c, _w, t) => c.tasks.claimDispatches({ limit: 10, leaseMs: 1000 }, t)),
    ackDispatches: svc((c, _w, t) => c.tasks.ackDispatches({ ids: [1] }, t)),
  },
  "sker.store.v1.TaskLifecycleService": {
    startTask: svc((c, w, t) => c.lifecycle.startTask({ id: w.q.task, workerId: "w", leaseMs: 1000 }, t)),
    renewLease: svc((c, w, t) => c.lifecycle.renewLease({ id: w.q.task, workerId: "w", leaseMs: 1000 }, t)),
    completeTask: svc((c, w, t) => c.lifecycle.completeTask({ id: w.q.task, workerId: "w", output: { title: "x", content: "pwned", tags: [], semanticType: "", importance: 3, confidence: 1 } }, t)),
    failTask: svc((c, w, t) => c.lifecycle.failTask({ id: w.q.task, workerId: "w", error: { code: "X", message: "x" }, final: true }, t)),
    reclaimTasks: svc((c, _w, t) => c.lifecycle.reclaimTasks({ queuedAfterMs: 0, limit: 10 }, t)),
    requeueTask: svc((c, w, t) => c.lifecycle.requeueTask({ id: w.q.task }, t)),
    claimDispatches: svc((c, _w, t) => c.lifecycle.claimDispatches({ limit: 10, leaseMs: 1000 }, t)),
    ackDispatches: svc((c, _w, t) => c.lifecycle.ackDispatches({ ids: [1] }, t)),
  },
  "sker.store.v1.EventService": {
    listEvents: nf((c, w, t) => c.events.listEvents({ projectId: w.q.project }, t)),
  },
  "sker.store.v1.CollabService": {
    // Q's node holds "secret": the caller finds their own nodes, never that one.
    search: {
      check: async (c, w, t) => {
        expect((await c.collab.search({ query: "p1" }, t)).hits.map((h) => h.nodeId)).toEqual([w.p.node]);
        expect((await c.collab.search({ query: "secret" }, t)).hits).toEqual([]);
        expect((await c.collab.search({ query: "secret" }, { token: w.bob.token })).hits.map((h) => h.projectId)).toEqual([w.q.project]);
        expect((await c.collab.search({ query: "q", projectId: w.q.project }, t)).hits).toEqual([]);
      },
    },
    listActivity: nf((c, w, t) => c.collab.listActivity({ projectId: w.q.project }, t)),
    exportProject: nf((c, w, t) => c.collab.exportProject({ projectId: w.q.project, format: "sker" }, t)),
    duplicateProject: nf((c, w, t) => c.collab.duplicateProject({ projectId: w.q.project }, t)),
    // Import makes a project of the caller's own; it names nothing of anyone else's.
    importProject: {
      check: async (c, w, t) => {
        const { project } = await c.collab.importProject({ format: "jsoncanvas", document: JSON.stringify({ nodes: [], edges: [] }) }, t);
        expect(project?.role).toBe("ROLE_OWNER");
        await expectAppError(c.projects.getProject({ id: project!.id }, { token: w.bob.token }), "NOT_FOUND");
      },
    },
  },
  "sker.store.v1.RunService": {
    createRun: {
      // Broker-only, like CreateTask: relayed for Alice it is NOT_FOUND in Q; her own token is refused.
      check: async (c, w, t) => {
        await expectAppError(c.runs.createRun({ projectId: w.q.project }, await w.store.viaBroker(t)), "NOT_FOUND");
        await expectAppError(c.runs.createRun({ projectId: w.q.project }, t), "FORBIDDEN");
      },
    },
    getRun: nf((c, w, t) => c.runs.getRun({ id: w.q.run }, t)),
    listRuns: nf((c, w, t) => c.runs.listRuns({ projectId: w.q.project }, t)),
    cancelRun: nf((c, w, t) => c.runs.cancelRun({ id: w.q.run }, t)),
  },
  "sker.store.v1.UsageService": {
    getUsage: nf((c, w, t) => c.usage.getUsage({ scope: UsageScope.USAGE_SCOPE_PROJECT, projectId: w.q.project }, t)),
    // Not an admin: no system report, no budget of Bob's changed.
    setUserBudget: { check: async (c, w, t) => expectAppError(c.usage.setUserBudget({ userId: w.bob.id, monthlyBudgetUsd: 0 }, t), "FORBIDDEN") },
  },
};

// `as()` inside the table is filled per call (the caller's token), see run() below.
let current = { token: "" };
function as() {
  return current;
}

describe("tenancy: P's member against Q's resources, every RPC", () => {
  const w = {} as World;
  let qSnapshot: unknown;

  const snapshotQ = async () => {
    const db = w.store.db;
    return {
      project: await db.selectFrom("projects").selectAll().where("id", "=", w.q.project).execute(),
      members: await db.selectFrom("project_members").selectAll().where("project_id", "=", w.q.project).orderBy("user_id").execute(),
      nodes: await db.selectFrom("nodes").selectAll().where("project_id", "=", w.q.project).orderBy("id").execute(),
      connections: await db.selectFrom("connections").selectAll().where("project_id", "=", w.q.project).execute(),
      tasks: await db.selectFrom("tasks").selectAll().where("project_id", "=", w.q.project).execute(),
      runs: await db.selectFrom("runs").selectAll().where("project_id", "=", w.q.project).execute(),
      events: await db.selectFrom("events").select(["seq", "name"]).where("project_id", "=", w.q.project).orderBy("seq").execute(),
      keys: await db.selectFrom("api_keys").selectAll().where("user_id", "=", w.bob.id).execute(),
      bob: await db.selectFrom("users").selectAll().where("id", "=", w.bob.id).execute(),
    };
  };

  beforeAll(async () => {
    w.store = await startTestStore({ driver: "pg" });
    const c = w.store.clients;
    [w.alice, w.bob] = await Promise.all([w.store.register("alice"), w.store.register("bob")]);
    const bob = { token: w.bob.token };
    const alice = { token: w.alice.token };
    const q = (await c.projects.createProject({ name: "Q" }, bob)).project!.id;
    const qn1 = (await c.nodes.createNode({ projectId: q, title: "q1", content: "secret" }, bob)).node!.id;
    const qn2 = (await c.nodes.createNode({ projectId: q, title: "q2" }, bob)).node!.id;
    const conn = (await c.connections.createConnection({ projectId: q, sourceNodeId: qn1, targetNodeId: qn2, type: "CONNECTION_TYPE_RELATED" }, bob)).connection!.id;
    const task = (await c.tasks.createTask({ projectId: q, type: "TASK_TYPE_OPTIMIZE", nodeId: qn1 }, await w.store.viaBroker(bob))).task!.id;
    const key = (await c.users.createApiKey({ name: "bob's" }, bob)).apiKey!.id;
    const qAi = (await c.nodes.createNode({ projectId: q, title: "q ai", recipe: { type: "generate", prompt: "secret plan", model: "" } }, bob)).node!.id;
    const run = (await c.runs.createRun({ projectId: q, targets: [qAi] }, await w.store.viaBroker(bob))).run!.id;
    const p = (await c.projects.createProject({ name: "P" }, alice)).project!.id;
    const pn = (await c.nodes.createNode({ projectId: p, title: "p1" }, alice)).node!.id;
    w.p = { project: p, node: pn };
    w.q = { project: q, node: qn1, node2: qn2, connection: conn, task, apiKey: key, run };
    qSnapshot = await snapshotQ();
  });
  afterAll(async () => {
    await w.store?.shutdown();
  });

  for (const [service, def] of Object.entries(STORE_SERVICES)) {
    for (const method of Object.keys(def)) {
      it(`${service}.${method}`, async () => {
        const c = (CASES as Record<string, Record<string, Case | undefined>>)[service]?.[method];
        expect(c, `no tenancy case for ${service}.${method}: add one to CASES`).toBeDefined();
        current = { token: w.alice.token };
        if ("check" in c!) await c.check(w.store.clients, w, current);
        else await expectAppError(c!.call(w.store.clients, w, current), c!.expect);
        expect(await snapshotQ(), "project Q changed").toEqual(qSnapshot);
      });
    }
  }
});

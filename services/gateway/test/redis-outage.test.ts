// Redis away under the gateway: requests answer at normal speed, and the rate limits keep
// holding per process (the auth budget too) until Redis is back, when they are shared again.
import { afterAll, beforeAll, expect, it } from "vitest";
import { tcpProxy } from "../../broker/test/support/tcp-proxy.js";
import { client, register } from "./support/http.js";
import { REDIS_URL, startStack, type Stack } from "./support/stack.js";
import { adminCli } from "./support/admin-cli.js";

let stack: Stack;
let proxy: Awaited<ReturnType<typeof tcpProxy>>;

beforeAll(async () => {
  const redis = new URL(REDIS_URL);
  proxy = await tcpProxy({ host: redis.hostname, port: Number(redis.port || 6379) });
  stack = await startStack({
    gatewayEnv: { REDIS_URL: `redis://127.0.0.1:${proxy.port}`, RATE_LIMIT_AUTH_PER_IP: "6", RATE_LIMIT_PER_USER: "100000" },
  });
});
afterAll(async () => {
  await stack?.close();
  await proxy?.close();
});

const timed = async <T>(fn: () => Promise<T>) => {
  const t0 = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - t0 };
};

it("with Redis cut, reads answer fast and the auth budget still refuses the 7th login", async () => {
  const api = client(stack.url);
  const user = await register(api, "rd"); // spends 1 of the 6 in Redis
  const adminRes = await api("POST", "/api/v1/auth/register", { body: { email: "admin@example.com", username: "admin_rd", password: "correct horse battery" } });
  expect(adminRes.status).toBe(201); // 2 of 6
  const admin = adminRes.body.data.accessToken as string;
  // Admin is a role in the database (make admin); granting it spends nothing of the auth budget.
  expect((await adminCli(stack.env, "grant", "admin@example.com")).code).toBe(0);
  const redisSays = async () => (await api("GET", "/api/system/info", { token: admin })).body.data.dependencies.redis;
  proxy.cut();
  const reads = [];
  for (let i = 0; i < 6; i++) reads.push(...(await Promise.all(Array.from({ length: 5 }, () => timed(() => api("GET", "/api/v1/users/me", { token: user.accessToken }))))));
  expect(reads.map((r) => r.value.status)).toEqual(reads.map(() => 200));
  // Generous for a loaded machine; the old client waited 4-9 s for a reconnect per request.
  expect(Math.max(...reads.map((r) => r.ms))).toBeLessThan(1_000);
  expect(await redisSays()).toBe("down");

  // The process-local budget starts from zero: 6 wrong passwords, then 429.
  const statuses: number[] = [];
  for (let i = 0; i < 7; i++) {
    const res = await api("POST", "/api/v1/auth/login", { body: { email: user.user.email, password: "wrong password!" } });
    statuses.push(res.status);
  }
  expect(statuses).toEqual([401, 401, 401, 401, 401, 401, 429]);

  proxy.restore();
  // Back on Redis: the shared counter (2 spent) governs again, so 4 more pass before the 429.
  await expect.poll(redisSays, { timeout: 15_000, interval: 200 }).toBe("up");
  const after: number[] = [];
  for (let i = 0; i < 5; i++) after.push((await api("POST", "/api/v1/auth/login", { body: { email: user.user.email, password: "wrong password!" } })).status);
  expect(after).toEqual([401, 401, 401, 401, 429]);
});

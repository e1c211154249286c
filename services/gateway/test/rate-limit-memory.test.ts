// A client past its budget is refused from this replica's memory until the window ends: the
// 429s keep coming with Retry-After, and only the first of them cost a Redis round trip (the
// shared counter stops moving).
import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import { client, register } from "@sker/testkit/http";
import { startStack, type Stack } from "@sker/testkit/stack";
import { REDIS_URL } from "@sker/testkit/urls";

let stack: Stack;
const redis = new Redis(REDIS_URL);

beforeAll(async () => {
  stack = await startStack({ withBroker: false, gatewayEnv: { RATE_LIMIT_PER_USER: "3" } });
});
afterAll(async () => {
  await stack?.close();
  redis.disconnect();
});

/** The user's request counter in Redis (the key is @fastify/rate-limit's, under our prefix). */
async function counter(userId: string): Promise<number> {
  const keys = await redis.keys(`${stack.env.REDIS_KEY_PREFIX}rl:*user:user:${userId}`);
  expect(keys).toHaveLength(1);
  return Number(await redis.get(keys[0]));
}

it("past the per-user budget: 429 with Retry-After each time, one Redis count, other users untouched", async () => {
  const api = client(stack.url);
  const user = await register(api, "over");
  const statuses: number[] = [];
  const retryAfter: number[] = [];
  for (let i = 0; i < 8; i++) {
    const res = await api("GET", "/api/v1/users/me", { token: user.accessToken });
    statuses.push(res.status);
    if (res.status === 429) {
      expect(res.body.error.code).toBe("RATE_LIMITED");
      retryAfter.push(Number(res.headers.get("retry-after")));
    }
  }
  expect(statuses).toEqual([200, 200, 200, 429, 429, 429, 429, 429]);
  for (const s of retryAfter) expect(s).toBeGreaterThan(0);
  expect(Math.max(...retryAfter)).toBeLessThanOrEqual(60);
  expect(await counter(user.user.id)).toBe(4);

  const other = await register(api, "under");
  expect((await api("GET", "/api/v1/users/me", { token: other.accessToken })).status).toBe(200);
});

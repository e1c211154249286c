// SHUTDOWN_DRAIN_DELAY_MS: on shutdown the gateway turns not-ready at once but keeps serving
// for the delay (load balancers take it out first), then stops accepting.
import { afterAll, beforeAll, expect, it } from "vitest";
import { client, register } from "@sker/testkit/http";
import { startStack, type Stack } from "@sker/testkit/stack";

// A delay long enough that requests taking a second each on a loaded machine still fit
// several into it.
const DRAIN_MS = 6_000;

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ gateways: 1, gatewayEnv: { SHUTDOWN_DRAIN_DELAY_MS: String(DRAIN_MS) } });
});
afterAll(async () => stack?.close());

it("during the drain delay /ready is 503 while requests still succeed; then the port closes", async () => {
  const api = client(stack.url);
  const user = await register(api, "drain");
  const t0 = Date.now();
  const done = stack.gateways[0].shutdown();
  const ready = await fetch(`${stack.url}/ready`);
  expect(ready.status).toBe(503);
  expect(((await ready.json()) as { status: string }).status).toBe("draining");
  // Requests keep being answered through the delay, up to one sent past half of it.
  const served: number[] = [];
  let lastSentAt = 0;
  while (lastSentAt < DRAIN_MS / 2) {
    lastSentAt = Date.now() - t0;
    served.push((await api("GET", "/api/v1/users/me", { token: user.accessToken })).status);
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(served.every((s) => s === 200)).toBe(true);
  await done;
  expect(Date.now() - t0).toBeGreaterThanOrEqual(DRAIN_MS);
  await expect(fetch(`${stack.url}/health`)).rejects.toThrow();
});

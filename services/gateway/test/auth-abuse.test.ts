// A flood of bad credentials must not reach the store without bound: a failed API key is
// remembered briefly, and failed authentications count against the per-IP auth budget.
import { randomBytes } from "node:crypto";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadGatewayConfig, startGateway } from "../src/start.js";
import { startStack, type Stack } from "@sker/testkit/stack";
import { client, register, type Req } from "@sker/testkit/http";

let stack: Stack;
let req: Req;

beforeAll(async () => {
  stack = await startStack({ withBroker: false });
  req = client(stack.url);
});
afterAll(async () => stack?.close());

/** How many VerifyApiKey calls this gateway has made, from its /metrics. */
async function verifyCalls(r: Req): Promise<number> {
  const text: string = (await r("GET", "/metrics")).body;
  let n = 0;
  for (const m of text.matchAll(/^grpc_client_handling_seconds_count\{[^}]*VerifyApiKey[^}]*\} (\d+)/gm)) n += Number(m[1]);
  return n;
}

const badKey = () => `sk_${randomBytes(24).toString("base64url")}`;

describe("bad credentials", () => {
  it("the same bad API key is asked of the store once, then answered from memory", async () => {
    const key = badKey();
    const before = await verifyCalls(req);
    for (let i = 0; i < 5; i++) {
      const res = await req("GET", "/api/v1/users/me", { apiKey: key });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe("UNAUTHENTICATED");
    }
    expect((await verifyCalls(req)) - before).toBe(1);
  });

  it("past the per-IP auth budget, bad keys and tokens get 429 and stop reaching the store", async () => {
    // A gateway of its own: its own budget, counted under its own Redis prefix.
    const gw = await startGateway(
      loadGatewayConfig({ ...stack.env, RATE_LIMIT_BAD_AUTH_PER_IP: "5", RATE_LIMIT_PER_USER: "100000", REDIS_KEY_PREFIX: `${stack.env.REDIS_KEY_PREFIX}flood:` }),
    );
    try {
      const r = client(`http://127.0.0.1:${gw.port}`);
      const user = await register(req, "flood");
      const before = await verifyCalls(r);
      const statuses: number[] = [];
      let limited: Awaited<ReturnType<Req>> | undefined;
      for (let i = 0; i < 12; i++) {
        const res = await r("GET", "/api/v1/projects", { apiKey: badKey() });
        statuses.push(res.status);
        if (res.status === 429) limited ??= res;
      }
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429, 429, 429, 429, 429]);
      expect(limited!.body.error.code).toBe("RATE_LIMITED");
      expect(Number(limited!.headers.get("retry-after"))).toBeGreaterThan(0);
      // The sixth failure found the budget spent; after it the store is not asked again.
      expect((await verifyCalls(r)) - before).toBeLessThanOrEqual(6);

      expect((await r("GET", "/api/v1/projects", { token: "not.a.token" })).status).toBe(429);
      // Someone from that address with a valid token is not locked out, nor is logging in:
      // bad credentials have a budget of their own, apart from /auth's.
      expect((await r("GET", "/api/v1/users/me", { token: user.accessToken })).status).toBe(200);
      expect((await r("POST", "/api/v1/auth/login", { body: { email: user.user.email, password: user.password } })).status).toBe(200);
    } finally {
      await gw.shutdown();
    }
  });

  it("bad bearer tokens alone also meet the budget", async () => {
    const gw = await startGateway(
      loadGatewayConfig({ ...stack.env, RATE_LIMIT_BAD_AUTH_PER_IP: "3", REDIS_KEY_PREFIX: `${stack.env.REDIS_KEY_PREFIX}jwt:` }),
    );
    try {
      const r = client(`http://127.0.0.1:${gw.port}`);
      // Expired tokens are ours and cheap to refuse: a client whose token ran out is not counted.
      const cfg = loadGatewayConfig(stack.env);
      const expired = await new SignJWT({ typ: "access", email: "x@example.com", username: "x" })
        .setProtectedHeader({ alg: "HS256" })
        .setSubject("00000000-0000-4000-8000-000000000000")
        .setIssuer(cfg.jwtIssuer)
        .setAudience(cfg.jwtAudience)
        .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
        .sign(new TextEncoder().encode(cfg.jwtSecret));
      for (let i = 0; i < 5; i++) {
        const res = await r("GET", "/api/v1/users/me", { token: expired });
        expect(res.status).toBe(401);
        expect(res.body.error.message).toBe("token expired");
      }
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await r("GET", "/api/v1/users/me", { token: `bad${i}` })).status);
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
    } finally {
      await gw.shutdown();
    }
  });

  for (const trust of ["127.0.0.1/32", "1"])
    it(`behind a trusted proxy (TRUST_PROXY=${trust}) each client address has its own budget`, async () => {
      // The ingress case: every connection comes from the proxy (here 127.0.0.1).
      const gw = await startGateway(
        loadGatewayConfig({ ...stack.env, TRUST_PROXY: trust, RATE_LIMIT_BAD_AUTH_PER_IP: "2", REDIS_KEY_PREFIX: `${stack.env.REDIS_KEY_PREFIX}xff${trust}:` }),
      );
      try {
        const r = client(`http://127.0.0.1:${gw.port}`);
        const from = (xff: string) => ({ token: "bad", headers: { "x-forwarded-for": xff } });
        const a = [];
        // What the client itself put in front of the proxy's entry does not buy a new budget.
        for (let i = 0; i < 3; i++) a.push((await r("GET", "/api/v1/users/me", from(`198.51.100.${i}, 203.0.113.1`))).status);
        expect(a).toEqual([401, 401, 429]);
        expect((await r("GET", "/api/v1/users/me", from("203.0.113.2"))).status).toBe(401);
      } finally {
        await gw.shutdown();
      }
    });
});

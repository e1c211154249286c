import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { loadGatewayConfig, startGateway } from "../src/start.js";
import { startStack, type Stack } from "@sker/testkit/stack";
import { client, register } from "@sker/testkit/http";
import { WsClient } from "@sker/testkit/ws";

// WS_MAX_SOCKETS_PER_USER holds over every gateway replica: the sockets are counted in Redis
// with a lease each replica renews, so a replica that dies without closing them stops counting
// one lease later; without Redis each replica counts its own.

const MAX = 3;
const LEASE_MS = 1_500;
const GW_ENV = { WS_MAX_SOCKETS_PER_USER: String(MAX), WS_SOCKET_LEASE_MS: String(LEASE_MS) };
const GATEWAY_MAIN = fileURLToPath(new URL("../dist/main.js", import.meta.url));

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ gateways: 2, gatewayEnv: GW_ENV });
}, 120_000);
afterAll(async () => stack?.close());

/** Opens a socket and says how it went: authenticated, or refused at the cap (RATE_LIMITED, 1008). */
async function open(url: string, token: string): Promise<{ ws: WsClient; ok: boolean }> {
  const ws = await WsClient.open(url, token);
  const first = await ws.next((f) => f.type === "authenticated" || f.type === "error");
  if (first.type === "authenticated") return { ws, ok: true };
  expect(first.code).toBe("RATE_LIMITED");
  expect((await ws.waitClose()).code).toBe(1008);
  return { ws, ok: false };
}

const token = async (name: string) => (await register(client(stack.url), name)).accessToken;

describe("the per-user socket cap over gateway replicas", () => {
  it("counts a user's sockets on both replicas; a closed one frees its place; another user is unaffected", async () => {
    const [a, b] = stack.urls;
    const t = await token("cap");
    const held = [await open(a, t), await open(a, t), await open(b, t)];
    expect(held.map((s) => s.ok)).toEqual([true, true, true]);
    expect((await open(b, t)).ok).toBe(false);
    expect((await open(a, t)).ok).toBe(false);
    expect((await open(b, await token("other"))).ok).toBe(true);

    held[0].ws.close();
    await held[0].ws.waitClose();
    await sleep(200);
    const again = await open(b, t);
    expect(again.ok).toBe(true);
    for (const s of [...held, again]) s.ws.close();
  });

  it("keeps counting sockets held longer than a lease (the replicas renew them)", async () => {
    const t = await token("long");
    const held = [await open(stack.urls[0], t), await open(stack.urls[1], t), await open(stack.urls[1], t)];
    expect(held.every((s) => s.ok)).toBe(true);
    await sleep(LEASE_MS * 2.5);
    expect((await open(stack.urls[0], t)).ok).toBe(false);
    for (const s of held) s.ws.close();
  });

  it("a gateway process killed with its sockets open stops counting them one lease later", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sker-cap-"));
    const portsFile = join(dir, "gateway.ports.json");
    const env = { PATH: process.env.PATH ?? "", ...stack.env, ...GW_ENV, RATE_LIMIT_AUTH_PER_IP: "100000", RATE_LIMIT_PER_USER: "100000", GATEWAY_PORT: "0", SKER_PORTS_FILE: portsFile };
    let child: ChildProcess | undefined = spawn(process.execPath, [GATEWAY_MAIN], { env, stdio: "ignore" });
    try {
      const end = Date.now() + 30_000;
      while (!existsSync(portsFile)) {
        if (Date.now() > end || child.exitCode !== null) throw new Error("the gateway process did not start");
        await sleep(50);
      }
      const url = `http://127.0.0.1:${(JSON.parse(readFileSync(portsFile, "utf8")) as { port: number }).port}`;
      const t = await token("crash");
      const held = [await open(url, t), await open(url, t), await open(url, t)];
      expect(held.every((s) => s.ok)).toBe(true);
      expect((await open(stack.urls[0], t)).ok).toBe(false);

      child.kill("SIGKILL");
      await new Promise((r) => child!.once("exit", r));
      child = undefined;
      const killedAt = Date.now();
      // Nobody gave the places back: they count until their lease ends unrenewed.
      expect((await open(stack.urls[0], t)).ok).toBe(false);
      let freed: number | undefined;
      while (Date.now() - killedAt < LEASE_MS * 4) {
        const s = await open(stack.urls[0], t);
        if (s.ok) {
          freed = Date.now() - killedAt;
          s.ws.close();
          break;
        }
        await sleep(100);
      }
      console.log(`socket places of a killed gateway freed after ${freed} ms (lease ${LEASE_MS} ms)`);
      expect(freed).toBeDefined();
      expect(freed!).toBeLessThanOrEqual(LEASE_MS * 4);
    } finally {
      child?.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("without Redis each replica still holds the cap for its own sockets", async () => {
    const gw = await startGateway(loadGatewayConfig({ ...stack.env, ...GW_ENV, REDIS_URL: "redis://127.0.0.1:1", GATEWAY_PORT: "0" }));
    try {
      const url = `http://127.0.0.1:${gw.port}`;
      const t = await token("noredis");
      const held = [await open(url, t), await open(url, t), await open(url, t)];
      expect(held.every((s) => s.ok)).toBe(true);
      expect((await open(url, t)).ok).toBe(false);
      for (const s of held) s.ws.close();
    } finally {
      await gw.shutdown();
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "@sker/testkit/stack";
import { client, register, type Req } from "@sker/testkit/http";
import { WsClient } from "@sker/testkit/ws";

// Limits at every door, over the WebSocket and for API keys: a per-socket message rate, a
// per-user socket cap, a per-user subscribe budget, failed `authenticate` messages spending
// the address's bad-auth budget, and one request budget per user whatever key they use.

let stack: Stack;
let req: Req;

beforeAll(async () => {
  stack = await startStack({
    gatewayEnv: {
      WS_MESSAGES_PER_SECOND: "5",
      WS_MAX_SOCKETS_PER_USER: "3",
      RATE_LIMIT_WS_SUBSCRIBE_PER_USER: "4",
      RATE_LIMIT_BAD_AUTH_PER_IP: "3",
      RATE_LIMIT_PER_USER: "20",
    },
  });
  req = client(stack.url);
}, 120_000);
afterAll(async () => {
  await stack?.close();
});

describe("WebSocket limits", () => {
  it("answers RATE_LIMITED to messages over the socket's rate and keeps the socket open", async () => {
    const { accessToken } = await register(req, "rate");
    const ws = await WsClient.open(stack.url, accessToken);
    await ws.next((f) => f.type === "authenticated");
    for (let i = 0; i < 40; i++) ws.send({ type: "ping" });
    await ws.next((f) => f.type === "error" && f.code === "RATE_LIMITED");
    await new Promise((r) => setTimeout(r, 500));
    const pongs = ws.frames.filter((f) => f.type === "pong").length;
    const limited = ws.frames.filter((f) => f.code === "RATE_LIMITED").length;
    console.log(`ws rate: ${pongs} pongs, ${limited} RATE_LIMITED of 40 pings`);
    expect(pongs).toBeLessThan(20);
    expect(pongs + limited).toBe(40);
    expect(ws.closed).toBeUndefined();
    ws.close();
  });

  it("closes a user's socket beyond WS_MAX_SOCKETS_PER_USER with 1008, and takes a new one once another closed", async () => {
    const { accessToken } = await register(req, "socks");
    const open: WsClient[] = [];
    for (let i = 0; i < 3; i++) {
      const ws = await WsClient.open(stack.url, accessToken);
      await ws.next((f) => f.type === "authenticated");
      open.push(ws);
    }
    const fourth = await WsClient.open(stack.url, accessToken);
    const err = await fourth.next((f) => f.type === "error");
    expect(err.code).toBe("RATE_LIMITED");
    expect((await fourth.waitClose()).code).toBe(1008);
    open[0].close();
    await open[0].waitClose();
    await new Promise((r) => setTimeout(r, 200));
    const fifth = await WsClient.open(stack.url, accessToken);
    await fifth.next((f) => f.type === "authenticated");
    for (const ws of [...open.slice(1), fifth]) ws.close();
  });

  it("spends a per-user subscribe budget shared by the user's sockets", async () => {
    const { accessToken } = await register(req, "subs");
    const projectId = (await req("POST", "/api/v1/projects", { token: accessToken, body: { name: "Subs" } })).body.data.id;
    const a = await WsClient.open(stack.url, accessToken);
    const b = await WsClient.open(stack.url, accessToken);
    await Promise.all([a.next((f) => f.type === "authenticated"), b.next((f) => f.type === "authenticated")]);
    for (let i = 0; i < 2; i++) {
      a.send({ type: "subscribe", projectId });
      await new Promise((r) => setTimeout(r, 250));
      b.send({ type: "subscribe", projectId });
      await new Promise((r) => setTimeout(r, 250));
    }
    b.send({ type: "subscribe", projectId });
    const err = await b.next((f) => f.type === "error" && f.code === "RATE_LIMITED");
    expect(err.projectId).toBe(projectId);
    expect(a.frames.filter((f) => f.type === "subscribed")).toHaveLength(2);
    expect(b.frames.filter((f) => f.type === "subscribed")).toHaveLength(2);
    a.close();
    b.close();
  });

  it("one request budget per user, whichever API key carries it", async () => {
    const { accessToken } = await register(req, "keys");
    const keys: string[] = [];
    for (const name of ["one", "two"]) keys.push((await req("POST", "/api/v1/api-keys", { token: accessToken, body: { name } })).body.data.key);
    const statuses: number[] = [];
    for (let i = 0; i < 14; i++) for (const apiKey of keys) statuses.push((await req("GET", "/api/v1/projects", { apiKey })).status);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(20);
  });

  it("failed authenticate messages spend the address's bad-auth budget: then RATE_LIMITED and 1008", async () => {
    const codes: number[] = [];
    let limited: any;
    for (let i = 0; i < 5 && !limited; i++) {
      const ws = await WsClient.open(stack.url);
      ws.send({ type: "authenticate", token: "garbage" });
      const err = await ws.next((f) => f.type === "error");
      codes.push((await ws.waitClose()).code);
      if (err.code === "RATE_LIMITED") limited = err;
    }
    expect(limited).toBeDefined();
    expect(codes[codes.length - 1]).toBe(1008);
    expect(codes.slice(0, -1).every((c) => c === 4401)).toBe(true);
  });
});

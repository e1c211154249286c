// Events the bus never delivered still reach every socket, without waiting for a new write:
// after the gateway's RabbitMQ connection comes back (its queue went with the connection while
// the store kept publishing), and, failing any bus at all, by the periodic seq check.
import { afterAll, beforeAll, expect, it } from "vitest";
import { tcpProxy } from "@sker/testkit/tcp-proxy";
import { client, register } from "@sker/testkit/http";
import { startStack, type Stack } from "@sker/testkit/stack";
import { RABBITMQ_URL } from "@sker/testkit/urls";
import { WsClient } from "@sker/testkit/ws";

let stack: Stack;
let proxy: Awaited<ReturnType<typeof tcpProxy>>;

beforeAll(async () => {
  const mq = new URL(RABBITMQ_URL);
  proxy = await tcpProxy({ host: mq.hostname, port: Number(mq.port || 5672) });
  mq.host = `127.0.0.1:${proxy.port}`;
  stack = await startStack({
    gateways: 2,
    // Gateway 0 reaches RabbitMQ through the proxy, with the periodic check out of the way.
    gatewayEnv: { RABBITMQ_URL: mq.toString(), WS_SEQ_CHECK_MS: "600000" },
  });
});
afterAll(async () => {
  await stack?.close();
  await proxy?.close();
});

async function projectWithSocket(url: string, api: ReturnType<typeof client>, user: { accessToken: string }) {
  const project = (await api("POST", "/api/v1/projects", { token: user.accessToken, body: { name: "resync" } })).body.data.id as string;
  const ws = await WsClient.open(url, user.accessToken);
  ws.send({ type: "subscribe", projectId: project, since: 0 });
  await ws.next((f) => f.type === "subscribed");
  return { project, ws };
}

it("a socket catches up on reconnect with the events published while its gateway was detached", async () => {
  const api = client(stack.urls[1]);
  const user = await register(api, "rs");
  const { project, ws } = await projectWithSocket(stack.urls[0], api, user);
  try {
    proxy.cut();
    for (let i = 0; i < 10; i++) expect((await api("POST", "/api/v1/nodes", { token: user.accessToken, body: { projectId: project, title: `n${i}` } })).status).toBe(201);
    // Published (the store's own connection is fine) while gateway 0 had no queue: dropped.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(ws.events(project).length).toBeLessThan(10);
    proxy.restore();
    // No further write: the reattached subscription alone brings the socket to the last seq.
    const events = await ws.waitEvents(project, 10, 20_000);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
  } finally {
    ws.ws.terminate();
  }
});

it("the periodic seq check delivers events a gateway never got from the bus", async () => {
  // A gateway listening on another exchange hears nothing from the store's relay.
  const deaf = await startStack({ gatewayEnv: { SKER_EVENTS_EXCHANGE: `deaf.${Date.now()}`, WS_SEQ_CHECK_MS: "500" } });
  try {
    const api = client(deaf.url);
    const user = await register(api, "deaf");
    const { project, ws } = await projectWithSocket(deaf.url, api, user);
    for (let i = 0; i < 3; i++) await api("POST", "/api/v1/nodes", { token: user.accessToken, body: { projectId: project, title: `d${i}` } });
    const events = await ws.waitEvents(project, 3, 10_000);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3]);
    ws.ws.terminate();
  } finally {
    await deaf.close();
  }
});

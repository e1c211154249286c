#!/usr/bin/env node
// A minimal canvas client: subscribes to a project over the gateway's WebSocket and prints
// every frame (events, streamed AI progress) as one JSON line.
//   node scripts/watch.mjs <accessToken> <projectId> [since] [ws://localhost:3000/ws]
import WebSocket from "ws";

const [token, projectId, since = "0", url = "ws://localhost:3000/ws"] = process.argv.slice(2);
if (!token || !projectId) {
  console.error("usage: watch.mjs <accessToken> <projectId> [since] [wsUrl]");
  process.exit(2);
}
const ws = new WebSocket(`${url}?token=${encodeURIComponent(token)}`);
ws.on("open", () => ws.send(JSON.stringify({ type: "subscribe", projectId, since: Number(since) })));
ws.on("message", (data) => console.log(data.toString()));
ws.on("close", (code, reason) => {
  console.error(`closed ${code} ${reason}`);
  process.exit(code === 1000 ? 0 : 1);
});

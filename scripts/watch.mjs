#!/usr/bin/env node
// A minimal canvas client: subscribes to a project over the gateway's WebSocket and prints
// every frame (events, streamed AI progress) as one JSON line.
//   node scripts/watch.mjs <accessToken> <projectId> [since]
// The gateway is SKER_URL (http://localhost:3000).
import WebSocket from "ws";

const [token, projectId, since = "0"] = process.argv.slice(2);
const url = `${(process.env.SKER_URL ?? "http://localhost:3000").replace(/^http/, "ws")}/ws`;
if (!token || !projectId) {
  console.error("usage: watch.mjs <accessToken> <projectId> [since]");
  process.exit(2);
}
const ws = new WebSocket(`${url}?token=${encodeURIComponent(token)}`);
ws.on("open", () => ws.send(JSON.stringify({ type: "subscribe", projectId, since: Number(since) })));
ws.on("message", (data) => console.log(data.toString()));
ws.on("close", (code, reason) => {
  console.error(`closed ${code} ${reason}`);
  process.exit(code === 1000 ? 0 : 1);
});

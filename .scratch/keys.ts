import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadStoreConfig } from "../services/store/src/config.js";
import { loadBrokerConfig } from "../services/broker/src/config.js";
import { loadGatewayConfig } from "../services/gateway/src/config.js";
function keys(load: (env: Record<string, string | undefined>) => unknown, base: Record<string, string> = {}) {
  const read = new Set<string>();
  const env = new Proxy({ SKER_DATA_DIR: mkdtempSync(join(tmpdir(), "k-")), ...base } as Record<string, string | undefined>, {
    get(t, k) { if (typeof k === "string") read.add(k); return t[k as string]; },
    has(t, k) { if (typeof k === "string") read.add(k); return k in t; },
    ownKeys(t) { read.add("*ownKeys*"); return Reflect.ownKeys(t); },
  });
  try { load(env); } catch (e) { console.log("ERR", (e as Error).message); }
  return [...read].sort();
}
console.log("store", keys(loadStoreConfig).join(" "));
console.log("broker", keys(loadBrokerConfig).join(" "));
console.log("broker-openai", keys(loadBrokerConfig, { AI_PROVIDER: "openai", OPENAI_API_KEY: "x" }).join(" "));
console.log("gateway", keys(loadGatewayConfig).join(" "));

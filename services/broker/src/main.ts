import { createLogger, onShutdown } from "@sker/kit";
import { loadBrokerConfig } from "./config.js";
import { startBroker } from "./start.js";

const log = createLogger("broker");

try {
  const config = loadBrokerConfig();
  const broker = await startBroker(config);
  const shutdown = onShutdown(log, config.shutdownTimeoutMs + 2_000);
  shutdown.add("broker", () => broker.shutdown());
} catch (err) {
  log.fatal({ err }, (err as Error).message ?? "failed to start");
  process.exit(1);
}

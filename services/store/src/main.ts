import { announcePorts, createLogger, onShutdown, startTelemetry } from "@sker/kit";
import { loadStoreConfig } from "./config.js";
import { startStore } from "./start.js";

// config → dependencies → servers → shutdown on SIGTERM/SIGINT. A bad setting or a dependency
// that cannot be reached at start ends the process with one log line that says which.
try {
  const config = loadStoreConfig();
  const log = createLogger("store", config.common.logLevel);
  const telemetry = await startTelemetry("sker-store", { otlpEndpoint: config.common.otlpEndpoint });
  const store = await startStore(config, { log });
  announcePorts(config.common.portsFile, { port: store.port, metricsPort: store.metricsPort });
  const shutdown = onShutdown(log, config.common.shutdownTimeoutMs);
  shutdown.add("store", () => store.shutdown());
  shutdown.add("telemetry", () => telemetry.shutdown());
} catch (err) {
  createLogger("store").fatal({ err }, (err as Error).message ?? "failed to start");
  process.exit(1);
}

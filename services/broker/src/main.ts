import { announcePorts, createLogger, onShutdown, startTelemetry } from "@sker/kit";
import { loadBrokerConfig } from "./config.js";
import { startBroker } from "./start.js";

const log = createLogger("broker");

try {
  const config = loadBrokerConfig();
  const telemetry = await startTelemetry("sker-broker", { otlpEndpoint: config.otlpEndpoint });
  const broker = await startBroker(config);
  announcePorts(config.portsFile, { port: broker.port, metricsPort: broker.metricsPort });
  const shutdown = onShutdown(log, config.shutdownTimeoutMs + 2_000);
  shutdown.add("broker", () => broker.shutdown());
  shutdown.add("telemetry", () => telemetry.shutdown());
} catch (err) {
  log.fatal({ err }, (err as Error).message ?? "failed to start");
  process.exit(1);
}

import { announcePorts, createLogger, onShutdown, startTelemetry } from "@sker/kit";
import { loadGatewayConfig, startGateway } from "./start.js";

const log = createLogger("gateway");

async function main(): Promise<void> {
  const config = loadGatewayConfig();
  const telemetry = await startTelemetry("sker-gateway", { otlpEndpoint: config.otlpEndpoint });
  const gateway = await startGateway(config);
  announcePorts(config.portsFile, { port: gateway.port });
  const shutdown = onShutdown(log, config.shutdownTimeoutMs);
  shutdown.add("gateway", () => gateway.shutdown());
  shutdown.add("telemetry", () => telemetry.shutdown());
}

main().catch((err: unknown) => {
  log.fatal({ err }, (err as Error).message ?? "failed to start");
  process.exit(1);
});

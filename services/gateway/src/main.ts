import { createLogger, onShutdown } from "@sker/kit";
import { loadGatewayConfig, startGateway } from "./start.js";

const log = createLogger("gateway");

async function main(): Promise<void> {
  const config = loadGatewayConfig();
  const gateway = await startGateway(config);
  const shutdown = onShutdown(log, config.shutdownTimeoutMs);
  shutdown.add("gateway", () => gateway.shutdown());
}

main().catch((err: unknown) => {
  log.fatal({ err }, (err as Error).message ?? "failed to start");
  process.exit(1);
});

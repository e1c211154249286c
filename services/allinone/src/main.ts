// `make run`: the three services in one process, on the embedded defaults unless DATABASE_URL,
// REDIS_URL or RABBITMQ_URL say otherwise. They still talk to each other over real gRPC on
// loopback, so this is the same code path as `make up`, minus the process boundaries.
import { announcePorts, createLogger, loadDotEnv, onShutdown, resolveSeedAliases, startTelemetry } from "@sker/kit";
import { loadStoreConfig, startStore } from "@sker/store";
import { loadBrokerConfig, startBroker } from "@sker/broker";
import { loadGatewayConfig, startGateway } from "@sker/gateway";

const log = createLogger("allinone");

async function main(): Promise<void> {
  // .env and the seed's aliases first, so the defaults below never contradict STORE_SERVICE_URL.
  loadDotEnv();
  const env = resolveSeedAliases(process.env);
  // Each service finds the others on loopback unless told otherwise, at the port each one bound
  // (STORE_PORT=0 and the like take any free port: tests running side by side never collide).
  const given = { store: env.STORE_ADDR, broker: env.BROKER_ADDR };
  // Parse every config before starting anything: a bad variable fails before a port is taken.
  const storeConfig = loadStoreConfig(env);
  const brokerConfig = loadBrokerConfig(env);
  const gatewayConfig = loadGatewayConfig(env);

  const telemetry = await startTelemetry("sker-allinone", { otlpEndpoint: gatewayConfig.otlpEndpoint });
  const store = await startStore(storeConfig);
  const storeAddr = given.store ?? `127.0.0.1:${store.port}`;
  const broker = await startBroker({ ...brokerConfig, storeAddr });
  const gateway = await startGateway({ ...gatewayConfig, storeAddr, brokerAddr: given.broker ?? `127.0.0.1:${broker.port}` });
  announcePorts(gatewayConfig.portsFile, { port: gateway.port, storePort: store.port, brokerPort: broker.port });
  log.info(
    {
      gateway: gateway.port,
      store: store.port,
      broker: broker.port,
      database: env.DATABASE_URL ? "postgresql" : `pglite (${env.SKER_DATA_DIR ?? ".sker"})`,
      cache: env.REDIS_URL ? "redis" : "in-memory",
      queue: env.RABBITMQ_URL ? "rabbitmq" : "in-process",
    },
    `SKER mesh ready: http://localhost:${gateway.port}`,
  );

  // Stop in the reverse order of the request path: clients first, the store last.
  const shutdown = onShutdown(log, Number(env.SHUTDOWN_TIMEOUT_MS ?? 10_000) + 5_000);
  shutdown.add("gateway", () => gateway.shutdown());
  shutdown.add("broker", () => broker.shutdown());
  shutdown.add("store", () => store.shutdown());
  shutdown.add("telemetry", () => telemetry.shutdown());
}

main().catch((err: unknown) => {
  log.fatal({ err }, (err as Error).message ?? "failed to start");
  process.exit(1);
});

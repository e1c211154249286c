import { createLogger } from "@sker/kit";
import { loadStoreConfig } from "./config.js";
import { openDatabase } from "./db/connect.js";
import { migrateToLatest } from "./db/migrate.js";

// `make migrate`: apply pending migrations to DATABASE_URL (or the embedded PGlite) and exit.
try {
  const config = loadStoreConfig();
  const log = createLogger("store-migrate", config.common.logLevel);
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.common.dataDir });
  try {
    const applied = await migrateToLatest(db);
    log.info({ applied }, applied.length ? "migrations applied" : "schema up to date");
  } finally {
    await db.destroy();
  }
} catch (err) {
  createLogger("store-migrate").fatal({ err }, (err as Error).message ?? "migration failed");
  process.exit(1);
}

import type { Kysely } from "kysely";
import { Migrator } from "kysely/migration";
import type { Database } from "./schema.js";
import { migrations } from "./migrations/index.js";

/** Applies every pending migration; kysely's migration lock keeps concurrent replicas in line. */
export async function migrateToLatest(db: Kysely<Database>): Promise<string[]> {
  // Migration numbers are handed out ahead of time to parallel work, so 0005 may land after a
  // database already ran 0007: apply whatever has not run, in name order, rather than refuse.
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations }, allowUnorderedMigrations: true });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === "Error")?.migrationName;
    throw new Error(`migration ${failed ?? "(lock)"} failed: ${(error as Error).message ?? error}`, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
}

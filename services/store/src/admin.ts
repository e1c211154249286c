import { createLogger } from "@sker/kit";
import { loadStoreConfig } from "./config.js";
import { openDatabase } from "./db/connect.js";
import { migrateToLatest } from "./db/migrate.js";

// `make admin EMAIL=...`: node dist/admin.js grant|revoke <email>. Sets the account's role in
// the database DATABASE_URL (or the embedded PGlite: stop `make run` first, PGlite is one
// process's). Exits 1, naming the problem, when the email has no account.
const USAGE = "usage: node services/store/dist/admin.js grant|revoke <email>";

try {
  const [command, email] = process.argv.slice(2);
  if (!["grant", "revoke"].includes(command ?? "") || !email) throw new Error(USAGE);
  const config = loadStoreConfig();
  const db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.common.dataDir });
  try {
    await migrateToLatest(db);
    const row = await db
      .updateTable("users")
      .set({ role: command === "grant" ? "admin" : "user", updated_at: new Date() })
      .where((eb) => eb(eb.fn("lower", ["email"]), "=", email.trim().toLowerCase()))
      .returning(["id", "email", "role"])
      .executeTakeFirst();
    if (!row) throw new Error(`no account has the email ${email}`);
    process.stdout.write(`${row.email} (${row.id}) is now ${row.role === "admin" ? "an admin" : "a user"}\n`);
  } finally {
    await db.destroy();
  }
} catch (err) {
  createLogger("store-admin").fatal({ err: (err as Error).message }, (err as Error).message);
  process.exit(1);
}

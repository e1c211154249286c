import { sql, type Kysely } from "kysely";

// JavaScript Dates hold milliseconds; PostgreSQL timestamps hold microseconds. A keyset cursor
// built from a Date then lies between rows of the same millisecond and pages repeat rows. With
// every timestamp stored at millisecond precision, what the store reads is exactly what it wrote.
const COLUMNS: Record<string, string[]> = {
  users: ["created_at", "updated_at"],
  refresh_tokens: ["expires_at", "used_at", "revoked_at", "created_at"],
  api_keys: ["created_at", "last_used_at"],
  projects: ["created_at", "updated_at", "deleted_at"],
  project_members: ["created_at"],
  nodes: ["created_at", "updated_at", "deleted_at"],
  node_versions: ["created_at"],
  connections: ["created_at", "updated_at", "deleted_at"],
  tasks: ["lease_expires_at", "enqueued_at", "created_at", "started_at", "completed_at", "updated_at"],
  events: ["created_at", "published_at"],
};

export async function up(db: Kysely<any>): Promise<void> {
  for (const [table, cols] of Object.entries(COLUMNS)) {
    const alters = cols.map((c) => `ALTER COLUMN ${c} TYPE timestamptz(3)`).join(", ");
    await sql.raw(`ALTER TABLE ${table} ${alters}`).execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const [table, cols] of Object.entries(COLUMNS)) {
    const alters = cols.map((c) => `ALTER COLUMN ${c} TYPE timestamptz`).join(", ");
    await sql.raw(`ALTER TABLE ${table} ${alters}`).execute(db);
  }
}

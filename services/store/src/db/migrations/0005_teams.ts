import { sql, type Kysely } from "kysely";

// Teams and identity: roles and account state on users, invitations by email, single-use
// tokens (password reset, email verification) stored hashed, and the mail outbox the store sends.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    ALTER TABLE users
      ADD COLUMN role text NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
      ADD COLUMN disabled_at timestamptz(3),
      ADD COLUMN last_login_at timestamptz(3),
      ADD COLUMN email_verified_at timestamptz(3),
      ADD COLUMN token_version integer NOT NULL DEFAULT 0;

    CREATE TABLE invitations (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      project_id uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
      email text NOT NULL,
      role text NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
      token_hash text NOT NULL UNIQUE,
      invited_by uuid REFERENCES users (id) ON DELETE SET NULL,
      created_at timestamptz(3) NOT NULL DEFAULT now(),
      expires_at timestamptz(3) NOT NULL,
      accepted_at timestamptz(3),
      accepted_by uuid REFERENCES users (id) ON DELETE SET NULL,
      revoked_at timestamptz(3)
    );
    CREATE UNIQUE INDEX invitations_pending ON invitations (project_id, lower(email)) WHERE accepted_at IS NULL AND revoked_at IS NULL;
    CREATE INDEX invitations_email ON invitations (lower(email)) WHERE accepted_at IS NULL AND revoked_at IS NULL;

    CREATE TABLE user_tokens (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      purpose text NOT NULL CHECK (purpose IN ('password_reset', 'verify_email')),
      token_hash text NOT NULL UNIQUE,
      expires_at timestamptz(3) NOT NULL,
      used_at timestamptz(3),
      created_at timestamptz(3) NOT NULL DEFAULT now()
    );
    CREATE INDEX user_tokens_user ON user_tokens (user_id, purpose);

    CREATE TABLE mail_outbox (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      to_address text NOT NULL,
      subject text NOT NULL,
      body text NOT NULL,
      attempts integer NOT NULL DEFAULT 0,
      next_attempt_at timestamptz(3) NOT NULL DEFAULT now(),
      last_error text,
      created_at timestamptz(3) NOT NULL DEFAULT now(),
      sent_at timestamptz(3)
    );
    CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE sent_at IS NULL;
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    DROP TABLE mail_outbox, user_tokens, invitations;
    ALTER TABLE users DROP COLUMN role, DROP COLUMN disabled_at, DROP COLUMN last_login_at, DROP COLUMN email_verified_at, DROP COLUMN token_version;
  `.execute(db);
}

import type { ColumnType, Generated, Insertable, Selectable, Updateable } from "kysely";

// The database shape, one interface (kysely). Migrations in ./migrations create exactly this.
// Both drivers (pg and PGlite) are set to return int8 as number and timestamptz as Date.

// Insert may omit a timestamp (the column default, now()); wrapping this in Generated<> would
// make the select type the ColumnType itself rather than Date.
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Json = ColumnType<Record<string, unknown>, string | undefined, string>;

export type Role = "owner" | "editor" | "viewer";
export type NodeStatus = "idle" | "processing" | "completed" | "error";
export type ChangeType = "create" | "edit" | "ai_generate" | "ai_optimize" | "ai_expand" | "ai_fusion" | "ai_analyze" | "rollback" | "ai_run";
export type ConnectionType = "related" | "dependency" | "reference" | "expand" | "fusion" | "input" | "output" | "bidirectional";
export type TaskType = "generate" | "optimize" | "expand" | "fusion" | "analyze";
export type TaskStatus = "queued" | "running" | "completed" | "failed" | "cancelled";
export type TaskPriority = "low" | "normal" | "high" | "urgent";

export interface UsersTable {
  id: Generated<string>;
  email: string;
  username: string;
  password_hash: string;
  display_name: Generated<string>;
  avatar_url: Generated<string>;
  settings: Json;
  created_at: Timestamp;
  updated_at: Timestamp;
  /** An admin's override of AI_USER_MONTHLY_BUDGET_USD; null: the default applies. */
  ai_monthly_budget_usd: ColumnType<number | null, number | null | undefined, number | null>;
  role: Generated<"user" | "admin">;
  disabled_at: Timestamp | null;
  last_login_at: Timestamp | null;
  email_verified_at: Timestamp | null;
  /** Bumped by a password change or reset and by disabling: access tokens of older versions stop working. */
  token_version: Generated<number>;
}

/** A pending (or spent) invitation of an email address to a project; the token is stored hashed. */
export interface InvitationsTable {
  id: Generated<string>;
  project_id: string;
  email: string;
  role: Role;
  token_hash: string;
  invited_by: string | null;
  created_at: Timestamp;
  expires_at: Timestamp;
  accepted_at: Timestamp | null;
  accepted_by: string | null;
  revoked_at: Timestamp | null;
}

/** Single-use tokens mailed to a user (password reset, email verification), stored hashed. */
export interface UserTokensTable {
  id: Generated<string>;
  user_id: string;
  purpose: "password_reset" | "verify_email";
  token_hash: string;
  expires_at: Timestamp;
  used_at: Timestamp | null;
  created_at: Timestamp;
}

/** Mail written in the transaction that decided to send it; the store's mail relay sends it. */
export interface MailOutboxTable {
  id: Generated<string>;
  to_address: string;
  subject: string;
  /** Emptied once sent: the links it carries are credentials. */
  body: string;
  attempts: Generated<number>;
  next_attempt_at: Timestamp;
  last_error: string | null;
  created_at: Timestamp;
  sent_at: Timestamp | null;
}

/** One row per refresh token; a family is one login's chain of rotations. */
export interface RefreshTokensTable {
  id: Generated<string>;
  family_id: string;
  user_id: string;
  token_hash: string;
  expires_at: Timestamp;
  /** Set when rotated: presenting it again is reuse, and revokes the family. */
  used_at: Timestamp | null;
  revoked_at: Timestamp | null;
  created_at: Timestamp;
}

export interface ApiKeysTable {
  id: Generated<string>;
  user_id: string;
  name: string;
  prefix: string;
  key_hash: string;
  created_at: Timestamp;
  last_used_at: Timestamp | null;
}

export interface ProjectsTable {
  id: Generated<string>;
  name: string;
  description: Generated<string>;
  status: Generated<"active" | "archived">;
  canvas_data: Json;
  settings: Json;
  owner_id: string;
  /** The last event seq handed out: bumped under the row lock, so seqs are gap-free. */
  event_seq: Generated<number>;
  /** Events up to this seq were removed by retention (0: none). */
  pruned_seq: Generated<number>;
  /** Kept by the nodes_usage trigger (migration 0003): rows in nodes, hidden ones included. */
  node_count: Generated<number>;
  /** Kept by the same trigger: UTF-8 bytes of the nodes' title, content and metadata. */
  content_bytes: Generated<number>;
  created_at: Timestamp;
  updated_at: Timestamp;
  deleted_at: Timestamp | null;
}

export interface ProjectMembersTable {
  project_id: string;
  user_id: string;
  role: Role;
  created_at: Timestamp;
}

export interface NodesTable {
  id: Generated<string>;
  project_id: string;
  title: Generated<string>;
  content: Generated<string>;
  semantic_type: Generated<string>;
  importance: Generated<number>;
  confidence: Generated<number>;
  status: Generated<NodeStatus>;
  tags: ColumnType<string[], string[] | undefined, string[]>;
  position_x: Generated<number>;
  position_y: Generated<number>;
  width: Generated<number>;
  height: Generated<number>;
  metadata: Json;
  parent_id: string | null;
  version: Generated<number>;
  ai_generated: Generated<boolean>;
  created_by: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  deleted_at: Timestamp | null;
  /** Set on AI nodes: what a run does to make the content. */
  recipe: ColumnType<StoredRecipe | null, string | null | undefined, string | null>;
  /** The hash of what made the current content (recipe, options, inputs); null until a run writes it. */
  run_hash: string | null;
}

export interface StoredRecipe {
  type: TaskType;
  prompt?: string;
  options?: { model?: string; temperature?: number; maxTokens?: number };
}

export interface NodeVersionsTable {
  node_id: string;
  version: number;
  title: string;
  content: string;
  change_type: ChangeType;
  created_by: string | null;
  task_id: string | null;
  run_id: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: Timestamp;
}

export interface ConnectionsTable {
  id: Generated<string>;
  project_id: string;
  source_node_id: string;
  target_node_id: string;
  type: ConnectionType;
  label: Generated<string>;
  weight: Generated<number>;
  created_by: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  /** Hidden together with a soft-deleted end node, shown again on restore. */
  deleted_at: Timestamp | null;
}

export interface TasksTable {
  id: Generated<string>;
  project_id: string;
  type: TaskType;
  status: Generated<TaskStatus>;
  priority: Generated<TaskPriority>;
  node_id: string | null;
  result_node_id: string | null;
  source_node_ids: ColumnType<string[], string[] | undefined, string[]>;
  prompt: Generated<string>;
  options: Json;
  attempts: Generated<number>;
  result: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
  error_code: string | null;
  error_message: string | null;
  input_tokens: Generated<number>;
  output_tokens: Generated<number>;
  provider: Generated<string>;
  model: Generated<string>;
  created_by: string;
  idempotency_key: string | null;
  lease_owner: string | null;
  lease_expires_at: Timestamp | null;
  /** When the task was last handed to the queue (submit, retry, reclaim). */
  enqueued_at: Timestamp;
  created_at: Timestamp;
  started_at: Timestamp | null;
  completed_at: Timestamp | null;
  updated_at: Timestamp;
  /** The failed or cancelled task this one retries. */
  retry_of: string | null;
  run_id: ColumnType<string | null, string | null | undefined, string | null>;
  /** Every provider call of every attempt (ModelCall in REST form), appended as attempts end. */
  calls: ColumnType<StoredCall[], string | undefined, string>;
  /** What all its calls cost, USD. */
  cost_usd: Generated<number>;
  /** Held against the budgets while the task is queued or running. */
  estimated_cost_usd: Generated<number>;
}

export interface StoredCall {
  alias: string;
  provider: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  outcome: string;
  message: string;
  durationMs: number;
  at: string;
}

/** One row per provider call that used tokens: the money record. */
export interface UsageLedgerTable {
  id: Generated<string>;
  project_id: string;
  user_id: string;
  task_id: string;
  alias: string;
  provider: string;
  model: string;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
  outcome: string;
  at: ColumnType<Date, Date | undefined, never>;
}

export type RunStatus = "running" | "completed" | "failed" | "cancelled";
export type RunNodeState = "pending" | "cached" | "queued" | "running" | "completed" | "failed" | "skipped" | "cancelled";

export interface RunsTable {
  id: Generated<string>;
  project_id: string;
  status: Generated<RunStatus>;
  targets: ColumnType<string[], string[] | undefined, string[]>;
  force: Generated<boolean>;
  created_by: string;
  created_at: Timestamp;
  updated_at: Timestamp;
  finished_at: Timestamp | null;
}

export interface RunNodesTable {
  run_id: string;
  node_id: string;
  /** Position in the run's topological order. */
  ord: number;
  state: Generated<RunNodeState>;
  /** The AI nodes of the run this one waits for. */
  depends_on: ColumnType<string[], string[] | undefined, string[]>;
  /** The node's last content version when the run began: a newer one is a human edit (If-Match). */
  base_version: number;
  /** Set when queued: the hash the output will be stored under. */
  hash: string | null;
  task_id: string | null;
  error_code: string | null;
  error_message: string | null;
  /** What the node's task may cost; held against the budgets while the node is pending. */
  estimated_cost_usd: Generated<number>;
}

/** The task queue's outbox: written with the task (create, reclaim), deleted once published. */
export interface TaskDispatchesTable {
  id: Generated<number>;
  task_id: string;
  reclaimed: Generated<boolean>;
  trace: ColumnType<Record<string, string>, string | undefined, string>;
  claimed_until: Timestamp | null;
  created_at: Generated<Timestamp>;
}

/** The outbox: written in the same transaction as the change it describes. */
export interface EventsTable {
  id: Generated<number>;
  project_id: string;
  seq: number;
  name: string;
  /** The REST-shaped JSON of events written before migration 0012 (events/legacy.ts reads it); null since. */
  data: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
  /** The EventPayload as protobuf JSON (events written since migration 0012). */
  payload: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
  created_at: Timestamp;
  published_at: Timestamp | null;
  /** Who caused the event: a user, or an AI task (with the user it works for); null for the system. */
  actor_user_id: string | null;
  actor_task_id: string | null;
}

export interface Database {
  users: UsersTable;
  refresh_tokens: RefreshTokensTable;
  api_keys: ApiKeysTable;
  projects: ProjectsTable;
  project_members: ProjectMembersTable;
  nodes: NodesTable;
  node_versions: NodeVersionsTable;
  connections: ConnectionsTable;
  tasks: TasksTable;
  events: EventsTable;
  task_dispatches: TaskDispatchesTable;
  invitations: InvitationsTable;
  user_tokens: UserTokensTable;
  mail_outbox: MailOutboxTable;
  runs: RunsTable;
  run_nodes: RunNodesTable;
  usage_ledger: UsageLedgerTable;
}

export type UserRow = Selectable<UsersTable>;
export type ProjectRow = Selectable<ProjectsTable>;
export type MemberRow = Selectable<ProjectMembersTable>;
export type NodeRow = Selectable<NodesTable>;
export type NewNode = Insertable<NodesTable>;
export type NodeUpdate = Updateable<NodesTable>;
export type NodeVersionRow = Selectable<NodeVersionsTable>;
export type ConnectionRow = Selectable<ConnectionsTable>;
export type TaskRow = Selectable<TasksTable>;
export type EventRow = Selectable<EventsTable>;
export type RunRow = Selectable<RunsTable>;
export type RunNodeRow = Selectable<RunNodesTable>;

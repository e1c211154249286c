// Every input limit of the public contract, in one place. The gateway's route schemas (and so
// the OpenAPI document), the store's validators and the broker's checks all read these values;
// a limit changed here changes at every door at once. Lengths count UTF-16 code units (what
// JavaScript's String#length counts, and what the gateway's schema validator is told to count).

/** A UUID, as our ids are (gen_random_uuid); any case. */
export const UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";
/** One @, something on each side, a dot in the domain, no spaces. */
export const EMAIL_PATTERN = "^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$";
export const USERNAME_PATTERN = "^[a-zA-Z0-9_-]{3,32}$";

const KiB = 1024;

/**
 * Free JSON (node metadata, project canvasData and settings, user settings): nesting depth
 * counts the field's own object as level 1, so `{"a":{"b":1}}` is 2 deep. 16 keeps every
 * message that carries such a value (a node, an event's node: the same depth, events carry the
 * typed resource) far inside what protobuf Struct decoding takes.
 */
export const JSON_DEPTH = 16;

export const LIMITS = {
  /**
   * `bytes`: a page of nodes or events stops once its rows pass this much JSON (always one row
   * at least), so a page of large nodes is fewer rows with a nextCursor, never a message over
   * the services' gRPC size limit.
   */
  page: { default: 100, max: 500, cursor: 1_000, bytes: 1024 * KiB },
  user: {
    email: 254,
    login: 254,
    passwordMin: 8,
    passwordMax: 256,
    displayName: 100,
    avatarUrl: 2_048,
    settingsBytes: 64 * KiB,
    refreshToken: 1_024,
    /** One-time tokens: invitations, password resets, email verification. */
    oneTimeToken: 200,
  },
  apiKey: { name: 100 },
  project: { name: 200, description: 5_000, canvasDataBytes: 512 * KiB, settingsBytes: 64 * KiB },
  node: {
    title: 500,
    content: 100_000,
    semanticType: 100,
    tags: 50,
    tagLength: 50,
    metadataBytes: 64 * KiB,
    query: 200,
    importanceMin: 1,
    importanceMax: 5,
    batch: 500,
  },
  connection: { label: 200 },
  task: {
    prompt: 20_000,
    sourceNodeIds: 50,
    model: 100,
    temperatureMax: 2,
    maxTokens: 32_000,
    idempotencyKey: 200,
  },
  /** Graph runs: node ids a run may name as targets. */
  run: { targets: 1_000 },
} as const;

/**
 * Tokens as the broker and store count them where no tokenizer is at hand (prompt budgets,
 * estimates): about 4 characters a token; a task without options.maxTokens may write 1,024.
 */
export const TOKENS = { charsPerToken: 4, defaultMaxOutput: 1_024 } as const;

/**
 * Quotas, defaults a small team never meets (each a store setting: QUOTA_*). Over one, a write
 * is refused with 403 QUOTA_EXCEEDED and details {quota, limit, used}. A project's bytes are the
 * UTF-8 bytes of its nodes' title, content and metadata; hidden nodes count until deleted
 * permanently.
 */
export const QUOTA_DEFAULTS = {
  projectsPerUser: 1_000,
  nodesPerProject: 10_000,
  bytesPerProject: 50 * 1024 * 1024,
  apiKeysPerUser: 100,
} as const;

export type Quotas = { [K in keyof typeof QUOTA_DEFAULTS]: number };

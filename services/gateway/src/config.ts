import { isIP } from "node:net";
import { commonConfig, ConfigError, envReader, type CommonConfig } from "@sker/kit";

export interface GatewayConfig extends CommonConfig {
  host: string;
  port: number;
  storeAddr: string;
  brokerAddr: string;
  /** Deadline of every gRPC call the gateway makes. */
  grpcDeadlineMs: number;
  redisUrl: string | undefined;
  redisKeyPrefix: string;
  /** The longest a Redis command may hold a request (rate limits). */
  redisCommandTimeoutMs: number;
  rabbitmqUrl: string | undefined;
  eventsExchange: string;
  corsOrigins: string[];
  bodyLimitBytes: number;
  rateLimits: {
    windowMs: number;
    /** Per user or API key, every authenticated route. */
    perUser: number;
    /** Per client IP, the /auth routes. */
    authPerIp: number;
    /** Per client IP, failed authentications (bad tokens and API keys) on the API. */
    badAuthPerIp: number;
    /** Per target email, password-reset requests. */
    resetPerEmail: number;
    /** Per user, WebSocket subscribes (each costs store calls). */
    wsSubscribePerUser: number;
    /** Per user, AI task submissions (REST and WebSocket). */
  };
  ws: {
    pingIntervalMs: number;
    /** How often each watched project's latest seq is compared with what its sockets have. */
    seqCheckMs: number;
    authTimeoutMs: number;
    /** A socket whose unsent bytes exceed this is closed (1013): a client that does not read. */
    maxBufferedBytes: number;
    /** Messages a socket may send per second (bursts of twice that); more answer RATE_LIMITED. */
    messagesPerSecond: number;
    /** Admitted messages waiting to be handled; past it the socket is closed (1008). */
    maxInbox: number;
    /** Open sockets per user over every gateway replica (Redis); one more is closed (1008). */
    maxSocketsPerUser: number;
    /** How long a socket counts against its user's cap after its replica last renewed it (a crashed replica's sockets). */
    socketLeaseMs: number;
    /** A presence not refreshed for this long is gone (presence.left). */
    presenceTtlMs: number;
    /** A user's presence is published at most once per this interval (50: 20 updates/s). */
    presenceMinIntervalMs: number;
  };
  /** How long a verified API key is trusted without asking the store again. */
  apiKeyCacheMs: number;
  /** GET /nodes/:id answered from memory, kept current by the event bus (src/cache/read-cache.ts). */
  readCache: {
    enabled: boolean;
    /** Nodes held (LRU), and the same number of credential×project access entries. */
    maxEntries: number;
    /** Bytes of nodes held (their JSON). */
    maxBytes: number;
    /** The backstop on a node entry (events keep it current before that). */
    ttlMs: number;
    /** How long "this credential may read this project" is believed: the bound on a lost account.revoked. */
    accessTtlMs: number;
    /** Projects the cache binds on the bus; reads of others go to the store. */
    maxProjects: number;
  };
  /**
   * Which proxies' X-Forwarded-For to believe for the client IP (the per-IP auth budget), in
   * Fastify's trustProxy forms: false, true (any: only when nothing can reach the gateway but
   * the proxy), a number of hops, or addresses/CIDRs of the proxies.
   */
  trustProxy: boolean | number | string[];
  version: string;
}

export function loadGatewayConfig(env: Record<string, string | undefined> = process.env): GatewayConfig {
  const e = envReader(env);
  const common = commonConfig(env);
  return {
    ...common,
    host: e.str("GATEWAY_HOST", "0.0.0.0"),
    port: e.int("GATEWAY_PORT", 3000, { max: 65535 }),
    storeAddr: e.str("STORE_ADDR", "127.0.0.1:3001"),
    brokerAddr: e.str("BROKER_ADDR", "127.0.0.1:3002"),
    grpcDeadlineMs: e.int("GRPC_DEADLINE_MS", 5000, { min: 50, max: 600_000 }),
    redisUrl: e.url("REDIS_URL", ["redis", "rediss"]),
    redisKeyPrefix: e.str("REDIS_KEY_PREFIX", "sker:"),
    redisCommandTimeoutMs: e.int("REDIS_COMMAND_TIMEOUT_MS", 250, { min: 10, max: 10_000 }),
    rabbitmqUrl: e.url("RABBITMQ_URL", ["amqp", "amqps"]),
    eventsExchange: e.str("SKER_EVENTS_EXCHANGE", "sker.events"),
    corsOrigins: e.list("CORS_ORIGINS"),
    bodyLimitBytes: e.int("GATEWAY_BODY_LIMIT_BYTES", 1024 * 1024, { min: 1024, max: 64 * 1024 * 1024 }),
    rateLimits: {
      windowMs: e.int("RATE_LIMIT_WINDOW_MS", 60_000, { min: 1000, max: 3_600_000 }),
      perUser: e.int("RATE_LIMIT_PER_USER", 600, { min: 1 }),
      authPerIp: e.int("RATE_LIMIT_AUTH_PER_IP", 20, { min: 1 }),
      badAuthPerIp: e.int("RATE_LIMIT_BAD_AUTH_PER_IP", 60, { min: 1 }),
      resetPerEmail: e.int("RATE_LIMIT_RESET_PER_EMAIL", 3, { min: 1 }),
      wsSubscribePerUser: e.int("RATE_LIMIT_WS_SUBSCRIBE_PER_USER", 120, { min: 1 }),
    },
    ws: {
      pingIntervalMs: e.int("WS_PING_INTERVAL_MS", 30_000, { min: 100, max: 600_000 }),
      seqCheckMs: e.int("WS_SEQ_CHECK_MS", 5_000, { min: 100, max: 600_000 }),
      authTimeoutMs: e.int("WS_AUTH_TIMEOUT_MS", 10_000, { min: 100, max: 600_000 }),
      maxBufferedBytes: e.int("WS_MAX_BUFFERED_BYTES", 4 * 1024 * 1024, { min: 1024 }),
      messagesPerSecond: e.int("WS_MESSAGES_PER_SECOND", 20, { min: 1, max: 10_000 }),
      maxInbox: e.int("WS_MAX_INBOX", 32, { min: 1, max: 10_000 }),
      maxSocketsPerUser: e.int("WS_MAX_SOCKETS_PER_USER", 20, { min: 1, max: 100_000 }),
      socketLeaseMs: e.int("WS_SOCKET_LEASE_MS", 30_000, { min: 300, max: 600_000 }),
      presenceTtlMs: e.int("PRESENCE_TTL_MS", 30_000, { min: 1000, max: 3_600_000 }),
      presenceMinIntervalMs: e.int("PRESENCE_MIN_INTERVAL_MS", 50, { min: 10, max: 60_000 }),
    },
    apiKeyCacheMs: e.int("API_KEY_CACHE_MS", 30_000, { min: 0, max: 600_000 }),
    readCache: {
      enabled: e.bool("READ_CACHE", true),
      maxEntries: e.int("READ_CACHE_MAX_ENTRIES", 10_000, { min: 1, max: 10_000_000 }),
      maxBytes: e.int("READ_CACHE_MAX_BYTES", 64 * 1024 * 1024, { min: 64 * 1024 }),
      ttlMs: e.int("READ_CACHE_TTL_MS", 30_000, { min: 100, max: 3_600_000 }),
      accessTtlMs: e.int("READ_CACHE_ACCESS_TTL_MS", 5_000, { min: 100, max: 600_000 }),
      maxProjects: e.int("READ_CACHE_MAX_PROJECTS", 1_000, { min: 1, max: 100_000 }),
    },
    trustProxy: trustProxyOf(e.optional("TRUST_PROXY")),
    version: e.str("SKER_VERSION", "0.1.0"),
  };
}

const RANGE_NAMES = new Set(["loopback", "linklocal", "uniquelocal"]);

function trustProxyOf(raw: string | undefined): boolean | number | string[] {
  if (raw === undefined || /^(false|no|off)$/i.test(raw)) return false;
  if (/^(true|yes|on)$/i.test(raw)) return true;
  const bad = () => new ConfigError("TRUST_PROXY", `must be true, false, a number of proxy hops, or a comma-separated list of IP addresses/CIDRs, got "${raw}"`);
  if (/^\d+$/.test(raw)) {
    const hops = Number(raw);
    if (hops > 100) throw bad();
    return hops === 0 ? false : hops;
  }
  const list = raw.split(",").map((s) => s.trim());
  if (!list.every(isAddressOrRange)) throw bad();
  return list;
}

/** "10.1.2.3", "10.0.0.0/8", "fd00::/8", or proxy-addr's names for the private ranges. */
function isAddressOrRange(s: string): boolean {
  if (RANGE_NAMES.has(s)) return true;
  const [ip, bits, ...rest] = s.split("/");
  const family = isIP(ip);
  if (family === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

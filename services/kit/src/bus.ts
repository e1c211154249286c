// The project event bus (exchange `sker.events`): the store's outbox relay publishes persisted
// events, the broker publishes ephemeral task.progress, every gateway replica consumes the
// projects its sockets watch. Two implementations: RabbitMQ, and in-process for all-in-one mode.

export interface BusEvent {
  projectId: string;
  /** Gap-free per project for persisted events; null for ephemeral ones (task.progress). */
  seq: number | null;
  name: string;
  /**
   * Persisted events: the resource as the protobuf JSON of sker.store.v1.EventPayload (the
   * gateway renders it as REST). Ephemeral ones: their publisher's own JSON.
   */
  data: unknown;
  /** ISO 8601 */
  at: string;
  /** Who caused it (persisted events): a user, or an AI task with its user; null for the system. */
  actor?: { userId: string; taskId?: string } | null;
}

export interface EventBus {
  /**
   * Resolves once the event is safely with the bus (RabbitMQ: publisher confirm). `transient`:
   * for ephemeral state that the next message replaces (presence): not persisted, no confirm
   * awaited, dropped when the bus is away; it resolves once handed to the client.
   */
  publish(event: BusEvent, opts?: { transient?: boolean }): Promise<void>;
  /**
   * A consumer that receives the events of the projects it watches. `onAttached` runs each time
   * its queue and bindings are (re)made on a connection: events published while it was detached
   * never reach it, so the subscriber must catch up from the source of truth then.
   */
  subscribe(onEvent: (event: BusEvent) => void, hooks?: { onAttached?: () => void }): Promise<EventSubscription>;
  /** Connected now, with every subscription attached: false from the moment the connection is seen lost. */
  readonly connected: boolean;
  close(): Promise<void>;
}

export interface EventSubscription {
  watch(projectId: string): Promise<void>;
  unwatch(projectId: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Not a project: the bus channel (routing key `project.accounts`) on which the store announces
 * that an account's tokens stopped working (`account.revoked {userId, tokenId?}`: disabled,
 * deleted, password changed or reset, or one token logged out), so every gateway closes the
 * sockets at once. Project ids are UUIDs, so this never meets a project's stream.
 */
export const ACCOUNTS_CHANNEL = "accounts";
export interface AccountRevoked {
  userId: string;
  /** Only this token (a logout); absent: every token of the account. */
  tokenId?: string;
}

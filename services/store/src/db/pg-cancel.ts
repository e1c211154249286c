import pg from "pg";
import type { PostgresPool, PostgresPoolClient } from "kysely";
import { callSignal } from "@sker/kit";

const WATCHED = Symbol("sker.cancelOnAbort");

type Watched = pg.PoolClient & { [WATCHED]?: true; activeQuery?: unknown };

/**
 * The pool, with clients that cancel their running statement when the RPC they serve is
 * cancelled or passes its deadline: a statement waiting on a row lock would otherwise hold the
 * connection, and the call, until the lock is free. PostgreSQL gets a CancelRequest on a
 * connection of its own (what psql's Ctrl-C sends). A client that was sent one is closed, not
 * pooled again, so a cancel that arrives late can never stop another call's statement.
 */
export function cancellingPool(pool: pg.Pool): PostgresPool {
  return {
    connect: async () => watch(await pool.connect(), pool.options) as PostgresPoolClient,
    end: () => pool.end(),
    options: pool.options,
  };
}

function watch(client: Watched, options: pg.PoolConfig): Watched {
  if (client[WATCHED]) return client;
  client[WATCHED] = true;
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  const release = client.release.bind(client);
  let sentCancel = false;
  client.query = ((...args: unknown[]) => {
    const signal = callSignal();
    const result = query(...args);
    // Cursors (streamed reads) are not thenables: they stop when their reader does.
    if (!signal || !(result instanceof Promise)) return result;
    const onAbort = () => {
      sentCancel = true;
      const canceller = new pg.Client(options) as pg.Client & { connection: NodeJS.EventEmitter; cancel(c: pg.Client, q: unknown): void };
      canceller.connection.on("error", () => undefined); // best effort: the check before commit still holds
      canceller.cancel(client, client.activeQuery);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    return result.finally(() => signal.removeEventListener("abort", onAbort));
  }) as typeof client.query;
  client.release = (destroy?: Error | boolean) => release(destroy || sentCancel);
  return client;
}
